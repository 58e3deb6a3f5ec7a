/* server.c: the FastCGI process: socket, accepting threads with private contexts, graceful SIGTERM. */
#include "server.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <mysql.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "redis.h"
#include "request.h"
#include "response.h"
#include "router.h"

#define SHUTDOWN_GRACE_MS 30000
#define DRAIN_MS 10000     /* at most this long for the queued connections of an unlinked socket */
#define DRAIN_QUIET_MS 100 /* the queue is empty for good once empty this long */
#define BG_SLOTS 2
#define OUTBOX_BATCH 50
#define OUTBOX_IDLE_MS 200
#define OUTBOX_PURGE_DAYS 7

struct server {
	const struct service *svc;
	struct store_config cfg;
	int listen_fd;
	int wake[2]; /* a pipe: written once at shutdown, it stays readable and wakes every accepting thread */
	bool inherited;             /* the socket was handed over (systemd): never shut down or closed here */
	pthread_mutex_t accept_lock; /* one thread at a time waits for and takes a new connection */
	atomic_int stopping;
	atomic_int failed; /* the listener failed for good: exit non-zero, so that the process is restarted */
	atomic_int busy;  /* requests between accept and finish */
	atomic_int alive; /* request threads still in their loop */
	atomic_int bg_running; /* background threads that have not returned yet */
	struct worker *workers; /* threads + BG_SLOTS (the service's background loop, the outbox relay) */
	router_authorizer authorize;
	struct metrics *metrics;
	char metrics_path[64]; /* /internal/<service>/metrics */
};

struct worker {
	struct server *srv;
	struct ctx ctx;
	pthread_t tid;
	void (*run)(struct ctx *ctx); /* background slots only */
	bool started;
};


static struct server *running_srv;

bool server_stopping(void)
{
	return running_srv && atomic_load(&running_srv->stopping);
}

static void *background_main(void *arg)
{
	struct worker *w = arg;
	mysql_thread_init();
	w->run(&w->ctx);
	atomic_fetch_sub(&w->srv->bg_running, 1);
	mysql_thread_end();
	return NULL;
}

/* The outbox relay: delivers due rows while there are some, polls when there are none. */
static void outbox_loop(struct ctx *ctx)
{
	long rounds = 0;
	struct log_streak relay = {.what = "outbox relay"}, purge = {.what = "outbox purge"};

	while (!server_stopping()) {
		int n = outbox_relay_once(ctx, OUTBOX_BATCH);
		if (n < 0)
			log_streak_fail(&relay, ctx->db->errstr);
		else
			log_streak_ok(&relay);
		if (n < 0 || n < OUTBOX_BATCH)
			clock_sleep_ms(n > 0 ? 10 : OUTBOX_IDLE_MS);
		if (++rounds % 3000 == 0) {
			if (outbox_purge(ctx->db, OUTBOX_PURGE_DAYS) < 0)
				log_streak_fail(&purge, ctx->db->errstr);
			else
				log_streak_ok(&purge);
		}
	}
}

static const char *fcgi_param(void *h, const char *name)
{
	return FCGX_GetParam(name, ((FCGX_Request *)h)->envp);
}

static int fcgi_read(void *h, char *buf, int len)
{
	return FCGX_GetStr(buf, len, ((FCGX_Request *)h)->in);
}

static int fcgi_write(void *h, const char *buf, int len)
{
	return FCGX_PutStr(buf, len, ((FCGX_Request *)h)->out);
}

/* GET /internal/<service>/metrics (the internal listener only): Prometheus text exposition. */
static void serve_metrics(struct worker *w, struct request *req)
{
	struct server *srv = w->srv;
	struct metrics_gauges g = {.threads = srv->cfg.threads, .busy = atomic_load(&srv->busy) - 1,
				   .outbox = srv->svc->outbox};
	char *text = NULL;
	size_t len = 0;

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		resp_header(req, "Allow", "GET, HEAD");
		resp_problemf(req, 405, "method_not_allowed", "%s is not allowed here; use GET, HEAD.", req->method);
		return;
	}
	if (g.outbox && outbox_backlog(w->ctx.db, &g.outbox_pending, &g.outbox_failed, &g.outbox_oldest_s) != 0) {
		log_msg(LOG_WARN, req->request_id, "metrics: outbox backlog: %s", w->ctx.db->errstr);
		g.outbox_pending = -1;
	}
	FILE *out = open_memstream(&text, &len);
	if (!out) {
		resp_problem(req, 500, "internal", "Out of memory.");
		return;
	}
	metrics_write(srv->metrics, &g, out);
	if (fclose(out) != 0) {
		free(text);
		resp_problem(req, 500, "internal", "Out of memory.");
		return;
	}
	resp_body(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

static void handle(struct worker *w, FCGX_Request *fr)
{
	const struct service *svc = w->srv->svc;
	struct request_io io = {fcgi_param, fcgi_read, fcgi_write, fr};
	struct request req;
	const struct route *r = NULL;
	long long t0 = clock_now_us();
	bool scrape = false;

	if (request_init(&req, &io, &w->ctx) == 0) {
		if (req.internal && strcmp(req.path, w->srv->metrics_path) == 0) {
			scrape = true; /* not counted: a scrape every few seconds would swamp small services' figures */
			serve_metrics(w, &req);
		} else {
			r = router_dispatch(svc->routes, svc->nroutes, w->srv->authorize, &req);
		}
	}
	if (!req.status) {
		log_msg(LOG_ERROR, req.request_id, "handler for %s %s wrote no response", req.method, req.path);
		resp_problem(&req, 500, "internal", "The server could not answer this request.");
	}
	if (!scrape)
		metrics_request(w->srv->metrics, r ? (long)(r - svc->routes) : -1, req.status, clock_now_us() - t0);
	request_cleanup(&req);
}

/*
 * Waits until the listening socket has a connection to take, or the server stops. The
 * listening socket is non-blocking, so a thread that loses the race for a connection comes
 * back here instead of blocking in accept(). The socket itself is never shut down or closed
 * to stop the threads (systemd lends it, and keeps queueing connections on it for the next
 * start): the wake pipe does that. Returns true when a connection may be waiting.
 */
/* The listener cannot take connections any more: stop the process (SIGTERM to itself: requests
 * in flight finish) with a non-zero exit, so that its supervisor starts it again. */
static void server_fail(struct server *srv, const char *what, int err)
{
	if (atomic_exchange(&srv->failed, 1) == 0) {
		log_msg(LOG_ERROR, NULL, "%s: %s; stopping so that the service is started again", what, strerror(err));
		kill(getpid(), SIGTERM);
	}
}

static bool listener_ready(struct server *srv)
{
	struct pollfd p[2] = {{.fd = srv->listen_fd, .events = POLLIN}, {.fd = srv->wake[0], .events = POLLIN}};

	if (poll(p, 2, -1) < 0) {
		if (errno != EINTR)
			clock_sleep_ms(10);
		return false;
	}
	if (p[1].revents || atomic_load(&srv->stopping))
		return false;
	if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
		server_fail(srv, "the listening socket failed", p[0].revents & POLLNVAL ? EBADF : EPIPE);
		clock_sleep_ms(100);
		return false;
	}
	return (p[0].revents & POLLIN) != 0;
}

/* Waits for a new connection and takes it, one thread at a time (the others wait on the lock,
 * not in poll: a connection wakes one thread, not all). Returns FCGX_Accept_r's result, or
 * -EINTR when there was nothing to take. */
static int accept_next(struct server *srv, FCGX_Request *fr)
{
	int rc = -EINTR;
	pthread_mutex_lock(&srv->accept_lock);
	if (!atomic_load(&srv->stopping) && listener_ready(srv))
		rc = FCGX_Accept_r(fr);
	pthread_mutex_unlock(&srv->accept_lock);
	return rc;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct server *srv = w->srv;
	FCGX_Request fr;

	mysql_thread_init();
	if (FCGX_InitRequest(&fr, srv->listen_fd, 0) != 0) {
		log_msg(LOG_ERROR, NULL, "thread %d: cannot initialise a FastCGI request", w->ctx.thread_no);
		goto out;
	}
	while (!atomic_load(&srv->stopping)) {
		/* A connection NGINX keeps open (fastcgi_keep_conn) brings its next request itself. */
		int rc = fr.ipcFd < 0 ? accept_next(srv, &fr) : FCGX_Accept_r(&fr);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR || rc == -ECONNABORTED)
			continue; /* nothing to take, or the client left first */
		if (rc == -EMFILE || rc == -ENFILE || rc == -ENOBUFS || rc == -ENOMEM) {
			/* Out of descriptors or memory for now: the connection waits in the queue. */
			log_msg(LOG_WARN, NULL, "thread %d: accept: %s; trying again", w->ctx.thread_no, strerror(-rc));
			clock_sleep_ms(100);
			continue;
		}
		if (rc < 0) {
			server_fail(srv, "accept", rc < -1 ? -rc : EIO);
			break;
		}
		atomic_fetch_add(&srv->busy, 1);
		handle(w, &fr);
		FCGX_Finish_r(&fr);
		atomic_fetch_sub(&srv->busy, 1);
	}
	FCGX_Free(&fr, 1);
out:
	atomic_fetch_sub(&srv->alive, 1);
	mysql_thread_end();
	return NULL;
}

/* Waits until no connection waits in the listening socket's queue for DRAIN_QUIET_MS in a
 * row (the request threads take them meanwhile), at most DRAIN_MS. */
static void drain_queue(struct server *srv)
{
	long quiet = 0;
	for (long waited = 0; waited < DRAIN_MS && quiet < DRAIN_QUIET_MS; waited += 10) {
		struct pollfd p = {.fd = srv->listen_fd, .events = POLLIN};
		int n = poll(&p, 1, 0);
		quiet = n == 0 ? quiet + 10 : 0;
		clock_sleep_ms(10);
	}
}

/* Opens the listening socket named by STORE_LISTEN; returns the fd or -1 after logging why. */
static int open_listener(const struct store_config *cfg)
{
	const char *l = cfg->listen;
	struct stat st;
	int fd;

	if (strcmp(l, "fd:0") == 0) {
		/* systemd: LISTEN_FDS sockets start at fd 3; inetd-style units hand it over as fd 0. */
		const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
		fd = (pid && fds && atol(pid) == (long)getpid() && atoi(fds) >= 1) ? 3 : 0;
		if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			fprintf(stderr, "STORE_LISTEN is fd:0 but fd %d is not a listening socket\n", fd);
			return -1;
		}
		return fd;
	}
	if (l[0] == '/') {
		if (unlink(l) != 0 && errno != ENOENT) {
			fprintf(stderr, "STORE_LISTEN: cannot remove stale socket %s: %s\n", l, strerror(errno));
			return -1;
		}
	}
	fd = FCGX_OpenSocket(l, 1024);
	if (fd < 0) {
		fprintf(stderr, "STORE_LISTEN: cannot listen on %s\n", l);
		return -1;
	}
	if (l[0] == '/' && chmod(l, (mode_t)cfg->socket_mode) != 0) {
		fprintf(stderr, "STORE_LISTEN: cannot chmod %s: %s\n", l, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Gives a thread its own connections (all lazy). Returns 0, or -1 when one cannot be made. */
static int ctx_open(struct ctx *ctx, const struct service *svc, const struct store_config *cfg)
{
	ctx->cfg = cfg;
	ctx->service = svc->name;
	ctx->redis = redis_conn_new(cfg);
	ctx->client = client_new(cfg, svc->name);
	if (svc->need & CONFIG_NEED_DB)
		ctx->db = db_conn_new(cfg);
	if (!ctx->redis || !ctx->client || ((svc->need & CONFIG_NEED_DB) && !ctx->db))
		return -1;
	return 0;
}

static void ctx_close(struct ctx *ctx)
{
	db_conn_free(ctx->db);
	redis_conn_free(ctx->redis);
	client_free(ctx->client);
	ctx->db = NULL;
	ctx->redis = NULL;
	ctx->client = NULL;
}

int server_main(const struct service *svc)
{
	static struct server srv; /* lives for the process: threads may outlive main's cleanup */
	char err[256];
	enum log_level level;
	sigset_t sigs;
	struct worker *workers = NULL;
	int sig = 0, rc = 1;
	long started = 0;
	bool unlinked = false;

	srv.svc = svc;
	running_srv = &srv;
	if (config_load(&srv.cfg, svc->need, err, sizeof(err)) != 0) {
		fprintf(stderr, "store-%s: %s\n", svc->name, err);
		return 1;
	}
	if (svc->settings && config_load_vars(svc->settings, svc->nsettings, svc->settings_dest, err, sizeof(err)) != 0) {
		fprintf(stderr, "store-%s: %s\n", svc->name, err);
		goto out;
	}
	if (!log_level_parse(srv.cfg.log_level, &level)) {
		fprintf(stderr, "store-%s: STORE_LOG_LEVEL must be debug, info, warn or error\n", svc->name);
		goto out;
	}
	log_init(svc->name, level);
	if (mysql_library_init(0, NULL, NULL) != 0 || FCGX_Init() != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "store-%s: cannot initialise the MariaDB or FastCGI library\n", svc->name);
		goto out;
	}
	srv.metrics = metrics_new(svc->name, svc->routes, svc->nroutes);
	if (!srv.metrics) {
		fprintf(stderr, "store-%s: out of memory\n", svc->name);
		goto out;
	}
	snprintf(srv.metrics_path, sizeof(srv.metrics_path), "/internal/%s/metrics", svc->name);
	/* Services that hold signed-in routes check tokens the one way lib/auth.c does. */
	srv.authorize = svc->authorize ? svc->authorize : (svc->need & CONFIG_NEED_JWT) ? auth_require : NULL;
	if (svc->init && svc->init(&srv.cfg) != 0)
		goto out;
	srv.listen_fd = open_listener(&srv.cfg);
	if (srv.listen_fd < 0)
		goto out;
	srv.inherited = strcmp(srv.cfg.listen, "fd:0") == 0;
	pthread_mutex_init(&srv.accept_lock, NULL);
	int fl = fcntl(srv.listen_fd, F_GETFL);
	if (fl < 0 || fcntl(srv.listen_fd, F_SETFL, fl | O_NONBLOCK) != 0 || pipe2(srv.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		fprintf(stderr, "store-%s: cannot set up the listening socket: %s\n", svc->name, strerror(errno));
		goto out;
	}

	/* Only the main thread takes signals, with sigwait; workers never see them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Past the request threads: the background threads' contexts, when the service has them. */
	workers = srv.workers = calloc((size_t)srv.cfg.threads + BG_SLOTS, sizeof(*workers));
	if (!workers)
		goto out;
	for (long i = 0; i < srv.cfg.threads; i++) {
		struct worker *w = &workers[i];
		w->srv = &srv;
		w->ctx.cfg = &srv.cfg;
		w->ctx.thread_no = (int)i;
		if (ctx_open(&w->ctx, svc, &srv.cfg) != 0 ||
		    (svc->thread_init && svc->thread_init(&w->ctx) != 0)) {
			fprintf(stderr, "store-%s: cannot set up thread %ld\n", svc->name, i);
			goto stop;
		}
		atomic_fetch_add(&srv.alive, 1);
		if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
			atomic_fetch_sub(&srv.alive, 1);
			fprintf(stderr, "store-%s: cannot start thread %ld\n", svc->name, i);
			goto stop;
		}
		started++;
	}
	void (*loops[BG_SLOTS])(struct ctx *) = {svc->background, svc->outbox ? outbox_loop : NULL};
	for (int k = 0; k < BG_SLOTS; k++) {
		struct worker *w = &workers[srv.cfg.threads + k];
		if (!loops[k])
			continue;
		w->srv = &srv;
		w->run = loops[k];
		w->ctx.thread_no = (int)srv.cfg.threads + k;
		atomic_fetch_add(&srv.bg_running, 1);
		if (ctx_open(&w->ctx, svc, &srv.cfg) != 0 || pthread_create(&w->tid, NULL, background_main, w) != 0) {
			atomic_fetch_sub(&srv.bg_running, 1);
			fprintf(stderr, "store-%s: cannot start background thread %d\n", svc->name, k);
			goto stop;
		}
		w->started = true;
	}
	log_msg(LOG_INFO, NULL, "listening on %s with %ld threads", srv.cfg.listen, srv.cfg.threads);
	for (;;) {
		if (sigwait(&sigs, &sig) != 0 || sig != SIGHUP)
			break;
		log_msg(LOG_INFO, NULL, "SIGHUP ignored: configuration is read at start only");
	}
	log_msg(LOG_INFO, NULL, "signal %d: finishing requests in flight", sig);
	rc = atomic_load(&srv.failed) ? 1 : 0;
	/* A unix socket this process made: its path goes first, so that no new connection can
	 * reach it (the gateway's connect fails and it tries another instance, a POST included:
	 * nothing was sent), while the threads still take the connections already queued on it.
	 * Closing the socket with those inside would reset them after the gateway had sent their
	 * requests. Then, once the queue is empty (or after DRAIN_MS), the threads stop. */
	if (rc == 0 && !srv.inherited && srv.cfg.listen[0] == '/') {
		unlink(srv.cfg.listen);
		unlinked = true; /* a new instance may bind the path from now on: never unlink it again */
		drain_queue(&srv);
	}
stop:
	atomic_store(&srv.stopping, 1);
	/* Wakes every thread waiting for a connection; they see `stopping` and leave their loop.
	 * Connections that arrive from now on wait in the socket's queue for the next start
	 * (socket activation), or are refused when this process made the socket itself. */
	if (write(srv.wake[1], "x", 1) != 1)
		log_msg(LOG_ERROR, NULL, "cannot wake the request threads: %s", strerror(errno));
	/* A socket this process made stops taking connections now (refused: the gateway tries
	 * another instance). One lent by systemd stays as it is, queueing for the next start. */
	if (!srv.inherited)
		shutdown(srv.listen_fd, SHUT_RDWR);
	for (long waited = 0; waited < SHUTDOWN_GRACE_MS; waited += 10) {
		bool bg = atomic_load(&srv.bg_running);
		if (atomic_load(&srv.alive) == 0 && !bg)
			break;
		/* Threads idle on a kept-alive NGINX connection hold no request: do not wait for
		 * them; the background thread, though, always finishes its round. */
		if (atomic_load(&srv.busy) == 0 && !bg && waited >= 200)
			break;
		clock_sleep_ms(10);
	}
	if (atomic_load(&srv.alive) == 0 && !atomic_load(&srv.bg_running)) {
		for (long i = 0; i < started; i++)
			pthread_join(workers[i].tid, NULL);
		for (long i = srv.cfg.threads; i < srv.cfg.threads + BG_SLOTS; i++)
			if (workers[i].started)
				pthread_join(workers[i].tid, NULL);
		for (long i = 0; i < srv.cfg.threads + BG_SLOTS; i++) {
			if (svc->thread_free && i < started)
				svc->thread_free(&workers[i].ctx);
			ctx_close(&workers[i].ctx);
		}
		free(workers);
		srv.workers = NULL;
		close(srv.listen_fd);
		if (srv.cfg.listen[0] == '/' && !unlinked)
			unlink(srv.cfg.listen);
		mysql_library_end();
		if (svc->settings)
			config_free_vars(svc->settings, svc->nsettings, svc->settings_dest);
		config_free(&srv.cfg);
		metrics_free(srv.metrics);
		srv.metrics = NULL;
	} else {
		/* Some threads sit in a blocking read of an idle connection; exiting ends them.
		 * Their contexts stay reachable through srv.workers, so nothing leaks. */
		if (srv.cfg.listen[0] == '/' && !unlinked)
			unlink(srv.cfg.listen);
	}
	log_msg(LOG_INFO, NULL, "stopped");
	return rc;
out:
	if (svc->settings)
		config_free_vars(svc->settings, svc->nsettings, svc->settings_dest);
	config_free(&srv.cfg);
	metrics_free(srv.metrics);
	srv.metrics = NULL;
	return rc;
}
