/* test_redis.c: Redis connection handling: refused, back-off, timeouts, AUTH (lib/redis.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "redis.h"
#include "session.h"

static struct store_config cfg;

static void setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.redis_host = "127.0.0.1";
	cfg.redis_port = 1; /* nothing listens there: connect is refused */
	cfg.redis_timeout_ms = 2000;
	cfg.redis_password = NULL;
}

TestSuite(redis, .init = setup, .timeout = 20);

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* --- unreachable -------------------------------------------------------------------------- */

Test(redis, new_does_not_connect_and_free_accepts_null)
{
	struct redis_conn *r = redis_conn_new(&cfg);
	cr_assert(not(zero(ptr, r)));
	cr_assert(zero(ptr, r->c));
	cr_assert(eq(int, r->err, 0));
	redis_conn_free(r);
	redis_conn_free(NULL);
}

Test(redis, refused_returns_null_with_err)
{
	struct redis_conn *r = redis_conn_new(&cfg);
	redisReply *reply = redis_cmd(r, "GET %s", "k");
	cr_assert(zero(ptr, reply));
	cr_assert(ne(int, r->err, 0));
	cr_assert(not(zero(sz, strlen(r->errstr))));
	cr_assert(zero(ptr, r->c), "the failed connection is dropped");
	redis_conn_free(r);
}

Test(redis, second_call_within_1s_fails_fast)
{
	struct redis_conn *r = redis_conn_new(&cfg);
	cr_assert(zero(ptr, redis_cmd(r, "PING")));
	long long retry_at = r->retry_at_ms;
	cr_assert(gt(llong, retry_at, 0), "no back-off after a refused connect");

	double t0 = now_ms();
	redisReply *reply = redis_cmd(r, "SET %s %s", "k", "v");
	double took = now_ms() - t0;
	cr_assert(zero(ptr, reply));
	cr_assert(ne(int, r->err, 0));
	/* Well under the 2000 ms timeout: no connect was even attempted. */
	cr_assert(lt(dbl, took, 50.0), "second call took %.1f ms", took);
	cr_assert(eq(llong, r->retry_at_ms, retry_at), "the back-off is not extended by a skipped attempt");
	redis_conn_free(r);
}

Test(redis, argv_and_ping_also_back_off)
{
	struct redis_conn *r = redis_conn_new(&cfg);
	const char *argv[] = {"SET", "k", "v"};
	const size_t lens[] = {3, 1, 1};
	cr_assert(zero(ptr, redis_cmd_argv(r, 3, argv, lens)));
	double t0 = now_ms();
	cr_assert(zero(ptr, redis_cmd_argv(r, 3, argv, lens)));
	cr_assert(eq(int, redis_ping(r), -1));
	cr_assert(lt(dbl, now_ms() - t0, 50.0));
	redis_conn_free(r);
}

Test(redis, retries_after_the_back_off)
{
	struct redis_conn *r = redis_conn_new(&cfg);
	cr_assert(zero(ptr, redis_cmd(r, "PING")));
	long long first = r->retry_at_ms;
	usleep(1100 * 1000);
	cr_assert(zero(ptr, redis_cmd(r, "PING")));
	cr_assert(gt(llong, r->retry_at_ms, first), "no new attempt after the back-off expired");
	redis_conn_free(r);
}

/* --- a fake server on an ephemeral port ---------------------------------------------------- */

struct fake_server {
	int lfd;
	int port;
	const char *reply; /* sent after each read; NULL: accept the connection and stay silent */
	pthread_t thread;
	bool started;
};

static void *serve(void *arg)
{
	struct fake_server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	char buf[512];

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		if (s->reply && write(fd, s->reply, strlen(s->reply)) < 0)
			break;
	}
	close(fd);
	return NULL;
}

static void server_start(struct fake_server *s, const char *reply)
{
	struct sockaddr_in a = {0};
	socklen_t alen = sizeof(a);

	s->reply = reply;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(ge(int, s->lfd, 0));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	cr_assert(eq(int, bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0));
	cr_assert(eq(int, listen(s->lfd, 4), 0));
	cr_assert(eq(int, getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0));
	s->port = ntohs(a.sin_port);
	s->started = pthread_create(&s->thread, NULL, serve, s) == 0;
	cfg.redis_port = s->port;
}

static void server_stop(struct fake_server *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	close(s->lfd);
	/* The serving thread ends when the client closes its side. */
	if (s->started)
		pthread_join(s->thread, NULL);
}

Test(redis, pong_from_a_server)
{
	struct fake_server s;
	server_start(&s, "+PONG\r\n");
	struct redis_conn *r = redis_conn_new(&cfg);
	cr_assert(eq(int, redis_ping(r), 0));
	cr_assert(not(zero(ptr, r->c)));
	cr_assert(eq(int, r->err, 0));
	redis_conn_free(r);
	server_stop(&s);
}

Test(redis, error_reply_is_returned_not_null)
{
	struct fake_server s;
	server_start(&s, "-ERR unknown command\r\n");
	struct redis_conn *r = redis_conn_new(&cfg);
	redisReply *reply = redis_cmd(r, "NOPE");
	cr_assert(not(zero(ptr, reply)));
	cr_assert(eq(int, reply->type, REDIS_REPLY_ERROR));
	cr_assert(not(zero(ptr, r->c)), "an error reply does not drop the connection");
	freeReplyObject(reply);
	redis_conn_free(r);
	server_stop(&s);
}

Test(redis, silent_server_times_out)
{
	struct fake_server s;
	server_start(&s, NULL);
	cfg.redis_timeout_ms = 100;
	struct redis_conn *r = redis_conn_new(&cfg);
	double t0 = now_ms();
	redisReply *reply = redis_cmd(r, "GET %s", "k");
	double took = now_ms() - t0;
	cr_assert(zero(ptr, reply));
	cr_assert(ne(int, r->err, 0));
	cr_assert(zero(ptr, r->c), "a timed-out connection is dropped");
	cr_assert(ge(dbl, took, 90.0), "returned before the timeout: %.1f ms", took);
	cr_assert(lt(dbl, took, 1000.0), "took %.1f ms for a 100 ms timeout", took);
	redis_conn_free(r);
	server_stop(&s);
}

Test(redis, auth_refused_is_down)
{
	struct fake_server s;
	server_start(&s, "-WRONGPASS invalid username-password pair\r\n");
	cfg.redis_password = "wrong";
	struct redis_conn *r = redis_conn_new(&cfg);
	cr_assert(zero(ptr, redis_cmd(r, "PING")));
	cr_assert(ne(int, r->err, 0));
	cr_assert(zero(ptr, r->c));
	cr_assert(gt(llong, r->retry_at_ms, 0), "a refused AUTH backs off too");
	redis_conn_free(r);
	server_stop(&s);
}

Test(redis, auth_accepted)
{
	struct fake_server s;
	server_start(&s, "+OK\r\n");
	cfg.redis_password = "right";
	struct redis_conn *r = redis_conn_new(&cfg);
	redisReply *reply = redis_cmd(r, "PING");
	cr_assert(not(zero(ptr, reply)));
	cr_assert(eq(int, reply->type, REDIS_REPLY_STATUS));
	freeReplyObject(reply);
	redis_conn_free(r);
	server_stop(&s);
}

/* --- #15.2: what happens to a command once written ----------------------------------------- */

/* A server that accepts any number of connections and counts the commands it reads (one per
 * "*<digit>" that opens a line: an argument "*" is "$1\r\n*\r\n"). `close_after` > 0: it answers +PONG and closes each connection
 * after that many commands; 0: it never answers. */
struct counting_server {
	int lfd, port, close_after;
	volatile int commands, connections;
	pthread_t thread;
};

static void *count_serve(void *arg)
{
	struct counting_server *s = arg;
	int fd;
	while ((fd = accept(s->lfd, NULL, NULL)) >= 0) {
		char buf[4096];
		int here = 0;
		ssize_t n;
		s->connections++;
		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] == '*' && (i == 0 || buf[i - 1] == '\n') && i + 1 < n && buf[i + 1] >= '1' &&
				    buf[i + 1] <= '9') {
					s->commands++;
					here++;
				}
			if (s->close_after > 0) {
				if (write(fd, "+PONG\r\n", 7) < 0)
					break;
				if (here >= s->close_after)
					break;
			}
		}
		close(fd);
	}
	return NULL;
}

static void counting_start(struct counting_server *s, int close_after)
{
	struct sockaddr_in a = {0};
	socklen_t alen = sizeof(a);
	memset(s, 0, sizeof(*s));
	s->close_after = close_after;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(eq(int, bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0));
	cr_assert(eq(int, listen(s->lfd, 8), 0));
	cr_assert(eq(int, getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0));
	s->port = ntohs(a.sin_port);
	cr_assert(eq(int, pthread_create(&s->thread, NULL, count_serve, s), 0));
	cfg.redis_port = s->port;
}

static void counting_stop(struct counting_server *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	close(s->lfd);
	pthread_join(s->thread, NULL);
}

/* A command that timed out may have run (Redis was slow, not down): sending it again on a new
 * connection counted a lockout attempt twice and turned a token rotation into "reuse". */
Test(redis, a_command_that_timed_out_is_never_sent_again)
{
	struct counting_server s;
	counting_start(&s, 0);
	cfg.redis_timeout_ms = 100;
	struct redis_conn *r = redis_conn_new(&cfg);
	cr_assert(zero(ptr, redis_cmd(r, "INCR %s", "login_fail:x")));
	const char *argv[] = {"XADD", "jobs", "*", "job", "{}"};
	cr_assert(zero(ptr, redis_cmd_argv(r, 5, argv, NULL)));
	usleep(100 * 1000);
	cr_assert(eq(int, s.commands, 2), "%d commands reached the server for 2 calls", s.commands);
	redis_conn_free(r);
	counting_stop(&s);
}

/* A connection the server closed while idle (a restart) is replaced before the next command,
 * which then runs once. */
Test(redis, a_connection_closed_by_the_server_is_replaced_before_sending)
{
	struct counting_server s;
	counting_start(&s, 1);
	struct redis_conn *r = redis_conn_new(&cfg);
	cr_assert(eq(int, redis_ping(r), 0));
	usleep(100 * 1000); /* the server has closed the connection by now */
	redisReply *reply = redis_cmd(r, "PING");
	cr_assert(not(zero(ptr, reply)), "a stale connection failed the next command: %s", r->errstr);
	freeReplyObject(reply);
	cr_assert(eq(int, s.commands, 2));
	cr_assert(eq(int, s.connections, 2));
	redis_conn_free(r);
	counting_stop(&s);
}

/* --- a session as auth reads it, with its contact (lib/session.c), from the HMGET reply ---- */

/* session_get of sid "s" against a server answering `reply`. */
static int session_from(const char *reply, struct session_info *si)
{
	struct fake_server s;
	server_start(&s, reply);
	struct redis_conn *r = redis_conn_new(&cfg);
	memset(si, 0, sizeof(*si));
	si->has_contact = true; /* session_get must say so itself */
	int rc = session_get(r, "s", si);
	redis_conn_free(r);
	server_stop(&s);
	return rc;
}

Test(redis, session_read_with_its_contact)
{
	struct session_info si;
	cr_assert(eq(int, session_from("*4\r\n$2\r\n42\r\n$5\r\nadmin\r\n$15\r\nada@example.com\r\n$15\r\nAda Lovelace \xc3\xa9\r\n", &si), 0));
	cr_assert(eq(i64, si.uid, 42));
	cr_assert(eq(int, si.role, ROLE_ADMIN));
	cr_assert(si.has_contact);
	cr_assert(eq(str, si.contact.email, "ada@example.com"));
	cr_assert(eq(str, si.contact.name, "Ada Lovelace \xc3\xa9"));
	cr_assert(eq(int, session_from("*4\r\n$2\r\n42\r\n$8\r\ncustomer\r\n$15\r\nada@example.com\r\n$0\r\n\r\n", &si), 0));
	cr_assert(eq(int, si.role, ROLE_CUSTOMER));
	cr_assert(si.has_contact, "an empty name is a name");
	cr_assert(eq(str, si.contact.name, ""));
}

Test(redis, session_absent_or_malformed_is_1)
{
	struct session_info si;
	cr_assert(eq(int, session_from("*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n", &si), 1));
	cr_assert(eq(int, session_from("*4\r\n$3\r\n4x2\r\n$8\r\ncustomer\r\n$15\r\nada@example.com\r\n$3\r\nAda\r\n", &si), 1));
	cr_assert(eq(int, session_from("*4\r\n$1\r\n0\r\n$8\r\ncustomer\r\n$-1\r\n$-1\r\n", &si), 1));
	cr_assert(eq(int, session_from("*4\r\n$2\r\n42\r\n$-1\r\n$-1\r\n$-1\r\n", &si), 1), "a session without a role");
	cr_assert(not(si.has_contact));
}

Test(redis, session_without_a_usable_contact_is_found_without_one)
{
	struct session_info si;
	/* a session made before sessions carried a contact */
	cr_assert(eq(int, session_from("*4\r\n$2\r\n42\r\n$8\r\ncustomer\r\n$-1\r\n$-1\r\n", &si), 0));
	cr_assert(eq(i64, si.uid, 42));
	cr_assert(not(si.has_contact));
	cr_assert(eq(int, session_from("*4\r\n$2\r\n42\r\n$8\r\ncustomer\r\n$15\r\nada@example.com\r\n$-1\r\n", &si), 0));
	cr_assert(not(si.has_contact));
	/* an empty address */
	cr_assert(eq(int, session_from("*4\r\n$2\r\n42\r\n$8\r\ncustomer\r\n$0\r\n\r\n$3\r\nAda\r\n", &si), 0));
	cr_assert(not(si.has_contact));
	cr_assert(eq(str, si.contact.email, ""), "nothing is copied from a refused contact");
}

Test(redis, session_contact_too_long_for_its_buffer_is_left_out)
{
	struct session_info si;
	char name[SESSION_NAME_MAX + 1], reply[1024];
	memset(name, 'n', SESSION_NAME_MAX);
	name[SESSION_NAME_MAX] = '\0';
	snprintf(reply, sizeof(reply), "*4\r\n$2\r\n42\r\n$8\r\ncustomer\r\n$15\r\nada@example.com\r\n$%d\r\n%s\r\n",
		 SESSION_NAME_MAX, name);
	cr_assert(eq(int, session_from(reply, &si), 0));
	cr_assert(not(si.has_contact));
	name[SESSION_NAME_MAX - 1] = '\0'; /* the longest that fits */
	snprintf(reply, sizeof(reply), "*4\r\n$2\r\n42\r\n$8\r\ncustomer\r\n$15\r\nada@example.com\r\n$%d\r\n%s\r\n",
		 SESSION_NAME_MAX - 1, name);
	cr_assert(eq(int, session_from(reply, &si), 0));
	cr_assert(si.has_contact);
	cr_assert(eq(sz, strlen(si.contact.name), (size_t)SESSION_NAME_MAX - 1));
}

Test(redis, session_on_an_error_or_a_dead_server_is_minus_1)
{
	struct session_info si;
	cr_assert(eq(int, session_from("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", &si), -1));
	cr_assert(eq(int, session_from("*2\r\n$2\r\n42\r\n$8\r\ncustomer\r\n", &si), -1), "a reply of another shape");
	cfg.redis_port = 1; /* refused */
	struct redis_conn *r = redis_conn_new(&cfg);
	cr_assert(eq(int, session_get(r, "s", &si), -1));
	redis_conn_free(r);
}

