/* contact.h: an account's contact as its sessions carry it (session.h) to each request (request.h). */
#ifndef STORE_CONTACT_H
#define STORE_CONTACT_H

/* The e-mail address (which never changes) and the display name (kept current by
 * session_user_rename). Sizes as the users table's, each with its NUL. */
#define SESSION_EMAIL_MAX 255
#define SESSION_NAME_MAX 401
struct session_contact {
	char email[SESSION_EMAIL_MAX];
	char name[SESSION_NAME_MAX];
};

#endif
