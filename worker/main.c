/* main.c: store-worker: drains the e-mail job stream through a consumer group and sends each job over SMTP. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "jobs.h"
#include "log.h"
#include "mime.h"
#include "queue.h"
#include "redis.h"
#include "retry.h"
#include "settings.h"
#include "smtp.h"
#include "template.h"

#ifndef WORKER_TEMPLATE_DIR
#define WORKER_TEMPLATE_DIR "/usr/local/share/store/templates"
#endif

#define BATCH 16              /* entries per XREADGROUP: few, so a killed worker strands few */
#define BLOCK_MS 1000         /* XREADGROUP wait: also how soon an idle worker sees SIGTERM */
#define METRICS_EVERY_MS 5000 /* STORE_METRICS_FILE is rewritten this often */
#define HOUSEKEEP_MS 1000     /* promote due retries and reclaim a dead worker's jobs this often */
#define FORGET_CONSUMERS_MS 3600000LL /* consumers with nothing pending, idle this long, are removed */
#define RETENTION_MS 86400000LL       /* acknowledged jobs stay on the stream a day, for inspection */
#define JOB_MAX_BYTES 65536

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

struct worker {
	struct store_config cfg;
	struct worker_settings set;
	struct redis_conn *redis;
	struct queue q;
	struct smtp_client *smtp;
	struct template_set *templates;
	char from_addr[MIME_ADDR_MAX + 1];
	char *from_header;
	long unavailable; /* SMTP_UNAVAILABLE results in a row */
	long long sent, dead, retried;
};

/*
 * Rewrites STORE_METRICS_FILE (a temporary file renamed over it, so a reader never sees half of
 * it) in the Prometheus text format, for node_exporter's textfile collector or any scraper that
 * reads files: this worker's own counts, and the job stream's (every worker's) from Redis.
 */
static void write_metrics(struct worker *w)
{
	char tmp[1100];
	struct queue_stats qs;
	bool have_queue = queue_stats(&w->q, &qs) == 0;
	const char *c = w->q.consumer;

	snprintf(tmp, sizeof(tmp), "%s.tmp", w->set.metrics_file);
	/* World-readable whatever the umask (the unit's is 0077): a collector runs as another user. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FILE *f = fd >= 0 && fchmod(fd, 0644) == 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		log_msg(LOG_WARN, NULL, "metrics: cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	fprintf(f, "# HELP store_worker_sent_total E-mails this worker sent.\n# TYPE store_worker_sent_total counter\n"
		   "store_worker_sent_total{worker=\"%s\"} %lld\n", c, w->sent);
	fprintf(f, "# HELP store_worker_retried_total Sends this worker put off for a later attempt.\n"
		   "# TYPE store_worker_retried_total counter\nstore_worker_retried_total{worker=\"%s\"} %lld\n", c, w->retried);
	fprintf(f, "# HELP store_worker_dead_total Jobs this worker dead-lettered.\n"
		   "# TYPE store_worker_dead_total counter\nstore_worker_dead_total{worker=\"%s\"} %lld\n", c, w->dead);
	fprintf(f, "# HELP store_worker_redis_up Whether the worker could read the job stream's counts (1) or not (0).\n"
		   "# TYPE store_worker_redis_up gauge\nstore_worker_redis_up{worker=\"%s\"} %d\n", c, have_queue);
	if (have_queue) {
		fprintf(f, "# HELP store_jobs_length Entries in the job stream.\n# TYPE store_jobs_length gauge\n"
			   "store_jobs_length{stream=\"%s\"} %lld\n", w->q.stream, qs.length);
		fprintf(f, "# HELP store_jobs_pending Jobs handed to a worker and not finished yet.\n"
			   "# TYPE store_jobs_pending gauge\nstore_jobs_pending{stream=\"%s\"} %lld\n", w->q.stream, qs.pending);
		fprintf(f, "# HELP store_jobs_delayed Jobs waiting for their next attempt.\n"
			   "# TYPE store_jobs_delayed gauge\nstore_jobs_delayed{stream=\"%s\"} %lld\n", w->q.stream, qs.delayed);
		fprintf(f, "# HELP store_jobs_dead Dead-lettered jobs (scripts/store jobs dead).\n"
			   "# TYPE store_jobs_dead gauge\nstore_jobs_dead{stream=\"%s\"} %lld\n", w->q.stream, qs.dead);
	}
	if (fclose(f) != 0 || rename(tmp, w->set.metrics_file) != 0) {
		log_msg(LOG_WARN, NULL, "metrics: cannot write %s", w->set.metrics_file);
		unlink(tmp);
	}
}

/* What became of one entry. */
enum outcome { DONE, LEFT_PENDING, STOPPED };

/* Sleeps `ms`, waking early on SIGTERM. Every second it calls XCLAIM on the `held` entries
 * so that no other worker reclaims them while this one waits. */
static void pause_holding(struct worker *w, long ms, const struct queue_entry *held, size_t nheld)
{
	long long until = clock_now_ms() + ms, last_touch = 0;

	while (!stopping && clock_now_ms() < until) {
		long long left = until - clock_now_ms();
		struct timespec ts = {0, (left > 200 ? 200 : left) * 1000000L};
		nanosleep(&ts, NULL);
		if (nheld && clock_now_ms() - last_touch >= 1000) {
			queue_touch(&w->q, held, nheld, false);
			last_touch = clock_now_ms();
		}
	}
}

/* Parses a job document strictly: valid UTF-8, nothing after it, bounded depth and size. */
static struct json_object *parse_job(const char *s, char *why, size_t whylen)
{
	size_t len = strlen(s);
	struct json_object *job = NULL;

	if (len == 0 || len > JOB_MAX_BYTES) {
		snprintf(why, whylen, "malformed job: %s", len ? "larger than 64 KiB" : "no job field, or an empty one");
		return NULL;
	}
	struct json_tokener *tok = json_tokener_new_ex(16);
	if (!tok) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	job = json_tokener_parse_ex(tok, s, (int)len);
	if (!job || json_tokener_get_error(tok) != json_tokener_success || (size_t)tok->char_offset != len) {
		snprintf(why, whylen, "malformed job: not one JSON document (%s)",
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(job);
		job = NULL;
	}
	json_tokener_free(tok);
	return job;
}

static const char *member(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static void dead_letter(struct worker *w, const struct queue_entry *e, const char *rid, const char *error,
			long attempts)
{
	log_msg(LOG_WARN, rid, "dead-letter entry=%s attempts=%ld: %s", e->id, attempts, error);
	if (queue_dead(&w->q, e, error, attempts) == 0)
		w->dead++;
}

/*
 * Builds the message of a valid job. Returns it (caller frees) or NULL with why in `why`:
 * every failure here is the job's own and permanent.
 */
static char *build_message(struct worker *w, struct json_object *job, size_t *len, char *why, size_t whylen)
{
	struct template_out out;
	struct json_object *data = NULL;
	const char *type = member(job, "type"), *to = member(job, "recipient");
	const struct template *t = template_set_get(w->templates, type);

	if (!mime_address_ok(to)) {
		snprintf(why, whylen, "recipient is not a plain ASCII address this worker can send to");
		return NULL;
	}
	if (!t) {
		snprintf(why, whylen, "no template for job type %s", type);
		return NULL;
	}
	json_object_object_get_ex(job, "data", &data);
	if (template_render(t, data, &out, why, whylen) != 0)
		return NULL;
	struct mime_message m = {
		.from_header = w->from_header,
		.from_addr = w->from_addr,
		.to = to,
		.subject = out.subject,
		.text = out.text,
		.text_len = out.text_len,
		.html = out.html,
		.html_len = out.html_len,
		.id = member(job, "id"),
		.date = time(NULL),
	};
	char *msg = mime_build(&m, len);
	if (!msg)
		snprintf(why, whylen, "could not assemble the message");
	template_out_free(&out);
	return msg;
}

/* Sends one message, unless `sent` (1: recorded as sent, 0: not, -1: not known yet) says it went
 * out before. `e` is followed in memory by the nheld - 1 entries of its batch not yet started:
 * all of them are held (kept from other workers) while the server is away; after such a pause,
 * whether the job was sent meanwhile is asked again. */
static enum outcome send_job(struct worker *w, const struct queue_entry *e, size_t nheld, struct json_object *job,
			     int sent, const char *msg, size_t len)
{
	const char *id = member(job, "id"), *rid = member(job, "request_id"), *type = member(job, "type");
	char err[512];

	for (;; sent = -1) {
		if (sent < 0)
			sent = queue_was_sent(&w->q, id);
		if (sent < 0)
			return LEFT_PENDING; /* Redis is away; the entry stays ours and comes back */
		if (sent) {
			log_msg(LOG_INFO, rid, "job %s already sent; not sending it again", id);
			queue_finish(&w->q, e->id, NULL);
			return DONE;
		}
		long long t0 = clock_now_ms();
		enum smtp_result r = smtp_send(w->smtp, member(job, "recipient"), msg, len, err, sizeof(err));
		if (r != SMTP_UNAVAILABLE)
			w->unavailable = 0;
		switch (r) {
		case SMTP_SENT:
			queue_finish_async(&w->q, e->id, id);
			w->sent++;
			log_msg(LOG_INFO, rid, "sent job=%s type=%s entry=%s attempt=%ld ms=%lld", id, type, e->id,
				e->attempt + 1, clock_now_ms() - t0);
			return DONE;
		case SMTP_UNAVAILABLE: {
			long pause = retry_pause_ms(++w->unavailable);
			log_msg(w->unavailable == 2 || w->unavailable % 20 == 0 ? LOG_WARN : LOG_DEBUG, rid,
				"SMTP server unavailable (%ld tries in a row), holding %zu jobs: %s", w->unavailable, nheld,
				err);
			pause_holding(w, pause, e, nheld);
			if (stopping)
				return STOPPED;
			continue;
		}
		case SMTP_TEMPORARY: {
			long attempts = e->attempt + 1;
			if (attempts >= w->set.job_max_attempts) {
				char why[700];
				snprintf(why, sizeof(why), "gave up after %ld attempts: %s", attempts, err);
				dead_letter(w, e, rid, why, attempts);
				return DONE;
			}
			long delay = retry_jitter(retry_delay_ms(attempts, w->set.job_backoff_ms),
						  (double)randombytes_uniform(1000000) / 1e6);
			log_msg(LOG_INFO, rid, "temporary failure of job %s (attempt %ld), next in %ld ms: %s", id,
				attempts, delay, err);
			if (queue_retry_later(&w->q, e, delay, attempts, err) == 0)
				w->retried++;
			return DONE;
		}
		case SMTP_PERMANENT:
		default:
			dead_letter(w, e, rid, err, e->attempt + 1);
			return DONE;
		}
	}
}

/* An entry of a batch, parsed and checked before the first of them is sent. */
struct prepared {
	struct json_object *job; /* the parsed document, or NULL */
	bool valid;              /* job is a valid job; else `why` says what is wrong */
	char why[512];
	int sent;                /* from the batch's one MGET: 1 recorded as sent, 0 not, -1 unknown */
};

static void prepare(const struct worker *w, const struct queue_entry *e, struct prepared *p)
{
	char vwhy[200];

	p->sent = -1;
	if (!e->job)
		return;
	if (e->deliveries > w->set.job_max_attempts + 1) {
		/* Handed out again and again without an outcome: it kills workers, or they never finish it. */
		snprintf(p->why, sizeof(p->why), "delivered %lld times without an outcome (does it crash the worker?)",
			 e->deliveries);
		return;
	}
	if (!(p->job = parse_job(e->job, p->why, sizeof(p->why))))
		return;
	if (!jobs_valid(p->job, vwhy, sizeof(vwhy))) {
		snprintf(p->why, sizeof(p->why), "malformed job: %s", vwhy);
		return;
	}
	p->valid = true;
}

/* Processes e[0]; e[1..nheld) are the rest of its batch, not yet started. */
static enum outcome process(struct worker *w, const struct queue_entry *e, const struct prepared *p, size_t nheld)
{
	const char *rid = p->job ? member(p->job, "request_id") : NULL;
	char why[512];
	size_t len;

	if (!e->job) { /* trimmed from the stream while pending: nothing left to send */
		queue_finish(&w->q, e->id, NULL);
		return DONE;
	}
	if (!p->valid) {
		dead_letter(w, e, rid, p->why, e->attempt);
		return DONE;
	}
	char *msg = build_message(w, p->job, &len, why, sizeof(why));
	if (!msg) {
		dead_letter(w, e, rid, why, e->attempt);
		return DONE;
	}
	enum outcome o = send_job(w, e, nheld, p->job, p->sent, msg, len);
	free(msg);
	return o;
}

/*
 * Processes a batch in order; on SIGTERM, hands what it has not finished back to the group.
 * Whether its jobs were sent before is asked once for the whole batch (one MGET), not once
 * per job: on a busy machine every round trip to Redis costs a scheduling delay.
 */
static void process_batch(struct worker *w, struct queue_entry *e, size_t n)
{
	long long last_touch = clock_now_ms();
	struct prepared *p = calloc(n ? n : 1, sizeof(*p));
	const char **ids = calloc(n ? n : 1, sizeof(*ids));
	int *sent = calloc(n ? n : 1, sizeof(*sent));
	size_t nids = 0;

	if (!p || !ids || !sent) {
		log_msg(LOG_ERROR, NULL, "out of memory; leaving %zu jobs pending", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		prepare(w, &e[i], &p[i]);
		if (p[i].valid)
			ids[nids++] = member(p[i].job, "id");
	}
	if (nids && queue_sent_many(&w->q, ids, nids, sent) == 0) {
		for (size_t i = 0, k = 0; i < n; i++)
			if (p[i].valid)
				p[i].sent = sent[k++];
		/* The same job twice in one batch: the second copy asks again, after the first went out. */
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; p[i].valid && j < n; j++)
				if (p[j].valid && strcmp(member(p[i].job, "id"), member(p[j].job, "id")) == 0)
					p[j].sent = -1;
	}
	for (size_t i = 0; i < n; i++) {
		/* Slow sends (timeouts) must not let the rest of the batch look abandoned. */
		if (clock_now_ms() - last_touch > w->q.idle_ms / 3) {
			queue_touch(&w->q, &e[i], n - i, false);
			last_touch = clock_now_ms();
		}
		enum outcome o = stopping ? STOPPED : process(w, &e[i], &p[i], n - i);
		if (o == STOPPED) {
			if (queue_touch(&w->q, &e[i], n - i, true) == 0)
				log_msg(LOG_INFO, NULL, "released %zu unfinished jobs to other workers", n - i);
			break;
		}
	}
out:
	for (size_t i = 0; p && i < n; i++)
		json_object_put(p[i].job);
	free(p);
	free(ids);
	free(sent);
}

static int setup(struct worker *w)
{
	char err[512], host[64];
	enum log_level level;

	if (config_load(&w->cfg, 0, err, sizeof(err)) != 0 ||
	    config_load_vars(worker_settings_vars, WORKER_SETTINGS_NVARS, &w->set, err, sizeof(err)) != 0) {
		fprintf(stderr, "store-worker: %s\n", err);
		return -1;
	}
	if (!log_level_parse(w->cfg.log_level, &level)) {
		fprintf(stderr, "store-worker: STORE_LOG_LEVEL must be debug, info, warn or error\n");
		return -1;
	}
	log_init("worker", level);
	if (!(w->from_header = mime_from_header(w->set.smtp_from, w->from_addr))) {
		fprintf(stderr, "store-worker: STORE_SMTP_FROM must be addr@domain or \"Name <addr@domain>\"\n");
		return -1;
	}
	const char *dir = w->set.template_dir ? w->set.template_dir : WORKER_TEMPLATE_DIR;
	if (!(w->templates = template_set_load(dir, jobs_types, err, sizeof(err)))) {
		fprintf(stderr, "store-worker: template %s (STORE_TEMPLATE_DIR)\n", err);
		return -1;
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    !(w->smtp = smtp_client_new(&w->set, w->from_addr))) {
		fprintf(stderr, "store-worker: cannot initialise libcurl or libsodium\n");
		return -1;
	}
	if (w->set.smtp_user && !w->set.smtp_starttls && strncmp(w->set.smtp_url, "smtps://", 8) != 0)
		log_msg(LOG_WARN, NULL, "STORE_SMTP_USER is set without TLS (smtps:// or STORE_SMTP_STARTTLS=1): "
					"the password crosses the network in clear");
	/* The blocking read must end before the socket timeout, or hiredis would call it a lost
	 * connection; so this program's Redis timeout is at least BLOCK_MS plus a second. */
	if (w->cfg.redis_timeout_ms < BLOCK_MS + 1000)
		w->cfg.redis_timeout_ms = BLOCK_MS + 1000;
	if (!(w->redis = redis_conn_new(&w->cfg)))
		return -1;
	if (w->set.worker_name) {
		snprintf(err, sizeof(err), "%s", w->set.worker_name);
	} else {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "worker");
		host[sizeof(host) - 1] = '\0';
		snprintf(err, sizeof(err), "%s-%ld", host, (long)getpid());
	}
	queue_init(&w->q, w->redis, w->cfg.job_stream, err, w->set.job_idle_ms);
	return 0;
}

static void teardown(struct worker *w)
{
	smtp_client_free(w->smtp);
	redis_conn_free(w->redis);
	template_set_free(w->templates);
	free(w->from_header);
	config_free_vars(worker_settings_vars, WORKER_SETTINGS_NVARS, &w->set);
	config_free(&w->cfg);
	curl_global_cleanup();
}

static void run(struct worker *w)
{
	char err[256], own_cursor[48] = "0";
	bool own_done = false;
	long long next_housekeep = 0, next_forget = clock_now_ms() + 60000, next_metrics = 0;
	struct queue_entry *e;
	size_t n;

	/* Redis may start after us: wait for it, as for the group. */
	while (!stopping && queue_create_group(&w->q, err, sizeof(err)) != 0) {
		log_msg(LOG_WARN, NULL, "cannot create the consumer group yet: %s", err);
		pause_holding(w, 2000, NULL, 0);
	}
	log_msg(LOG_INFO, NULL, "consumer %s on stream %s (group %s), SMTP %s", w->q.consumer, w->q.stream, QUEUE_GROUP,
		w->set.smtp_url);
	while (!stopping) {
		long long now = clock_now_ms();
		if (w->set.metrics_file && now >= next_metrics) {
			next_metrics = now + METRICS_EVERY_MS;
			write_metrics(w);
		}
		if (now >= next_housekeep) {
			next_housekeep = now + HOUSEKEEP_MS;
			queue_promote(&w->q, 100);
			if (queue_autoclaim(&w->q, BATCH, &e, &n) == 0 && n) {
				log_msg(LOG_INFO, NULL, "reclaimed %zu jobs idle for %ld ms", n, w->q.idle_ms);
				process_batch(w, e, n);
			}
			queue_entries_free(e, n);
			free(e);
		}
		if (now >= next_forget) {
			next_forget = now + 60000;
			queue_forget_idle_consumers(&w->q, FORGET_CONSUMERS_MS);
			queue_trim(&w->q, RETENTION_MS);
		}
		/* First what this consumer name already holds (a restart after a crash), then new jobs. */
		int rc = own_done ? queue_read(&w->q, ">", BATCH, BLOCK_MS, &e, &n)
				  : queue_read(&w->q, own_cursor, BATCH, 0, &e, &n);
		if (rc != 0) {
			pause_holding(w, 1000, NULL, 0);
			continue;
		}
		if (!own_done) {
			if (n == 0)
				own_done = true;
			else
				snprintf(own_cursor, sizeof(own_cursor), "%s", e[n - 1].id);
		}
		process_batch(w, e, n);
		queue_entries_free(e, n);
		free(e);
	}
}

int main(int argc, char **argv)
{
	static struct worker w;
	struct sigaction sa;

	if (argc != 1) {
		fprintf(stderr, "usage: store-worker   (configuration from STORE_* environment; see docs/OPERATIONS.md)\n");
		return 2;
	}
	(void)argv;
	/* No SA_RESTART: a signal cuts short a sleep; a transfer in flight still runs to its end. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (setup(&w) != 0) {
		teardown(&w);
		return 1;
	}
	run(&w);
	queue_settle(&w.q); /* the last message's record, before saying goodbye */
	log_msg(LOG_INFO, NULL, "stopping: %lld sent, %lld retried later, %lld dead-lettered", w.sent, w.retried,
		w.dead);
	teardown(&w);
	return 0;
}
