/* template.h: e-mail templates (subject, text and HTML parts) with {{placeholders}} filled from job data. */
#ifndef STORE_WORKER_TEMPLATE_H
#define STORE_WORKER_TEMPLATE_H

#include <stddef.h>

struct json_object;
struct template;
struct template_set;

/*
 * A template file holds three sections, each opened by a line of its own:
 *
 *   # comment lines, only before the first section
 *   [subject]
 *   Welcome to the store, {{name}}
 *   [text]
 *   Hello {{name}}, ...
 *   [html]
 *   <p>Hello {{name}}, ...</p>
 *
 * The subject is one line. A placeholder is "{{name}}" (letters, digits, '_', up to 64;
 * spaces inside the braces allowed); any other "{{" is a syntax error, so a typo fails at
 * load time rather than reaching a customer.
 */

/* Parses `len` bytes of template text (copied). Returns a new template (free with
 * template_free), or NULL with a one-line reason in `err`. */
struct template *template_parse(const char *text, size_t len, char *err, size_t errlen);

/* Frees a template; accepts NULL. */
void template_free(struct template *t);

/* What template_render produces; every string is malloc'd and owned by the struct. */
struct template_out {
	char *subject;  /* raw UTF-8, one line (placeholders may still bring control bytes: mime cleans them) */
	char *text;     /* plain-text body, values as they are */
	char *html;     /* HTML body, values HTML-escaped */
	size_t text_len, html_len;
};

/*
 * Fills every placeholder from the members of `data` (a JSON object; strings as they are,
 * integers in decimal). A placeholder whose member is missing, empty, or of another type is
 * an error: returns -1 with the reason (naming the placeholder) in `err` and `out` zeroed.
 * Returns 0 with `out` filled (free with template_out_free).
 */
int template_render(const struct template *t, struct json_object *data, struct template_out *out, char *err,
		    size_t errlen);

/* Frees the strings of `out` (not `out` itself); accepts a zeroed struct. */
void template_out_free(struct template_out *out);

/*
 * Loads "<dir>/<type>.tmpl" for every type of the NULL-terminated `types` (borrowed; the
 * set keeps pointers to them, so they must outlive it). Returns the set (free with
 * template_set_free), or NULL with the first failure, naming its file, in `err`.
 */
struct template_set *template_set_load(const char *dir, const char *const *types, char *err, size_t errlen);

/* Returns the template for `type` (borrowed from the set), or NULL if there is none. */
const struct template *template_set_get(const struct template_set *s, const char *type);

/* Frees the set and its templates; accepts NULL. */
void template_set_free(struct template_set *s);

#endif
