/* db.c: MariaDB access through cached prepared statements, with error mapping and transactions. */
#include "db.h"

#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "parse.h"

#define DB_CACHE_MAX 128
#define DB_CELL_INIT 256
#define DB_IDLE_CHECK_MS 2000

struct cached_stmt {
	const char *sql;
	MYSQL_STMT *stmt;
};

struct db_state {
	const struct store_config *cfg;
	MYSQL *mysql;
	bool in_tx;
	long long last_used_ms; /* monotonic time of the last statement */
	size_t ncache;
	struct cached_stmt cache[DB_CACHE_MAX];
};

struct db_val db_i64(int64_t i)
{
	return (struct db_val){.type = DB_T_I64, .i = i};
}

struct db_val db_strn(const char *s, size_t len)
{
	if (!s)
		return db_null();
	return (struct db_val){.type = DB_T_STR, .s = s, .len = len};
}

struct db_val db_str(const char *s)
{
	return db_strn(s, s ? strlen(s) : 0);
}

struct db_val db_null(void)
{
	return (struct db_val){.type = DB_T_NULL};
}

enum db_err db_err_from_errno(unsigned int e)
{
	switch (e) {
	case 0:
		return DB_OK;
	case ER_DUP_ENTRY:
	case ER_DUP_ENTRY_WITH_KEY_NAME:
		return DB_DUPLICATE;
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
		return DB_DEADLOCK;
	case ER_ROW_IS_REFERENCED_2:
	case ER_NO_REFERENCED_ROW_2:
		return DB_FOREIGN_KEY;
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_CONN_HOST_ERROR:
	case CR_CONNECTION_ERROR:
	case CR_SERVER_LOST_EXTENDED:
	case CR_COMMANDS_OUT_OF_SYNC:
	case ER_CON_COUNT_ERROR:
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case ER_QUERY_INTERRUPTED:
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT: the server closed an idle connection */
		return DB_GONE;
	default:
		return DB_ERROR;
	}
}

int db_err_status(enum db_err err)
{
	switch (err) {
	case DB_DUPLICATE:
	case DB_FOREIGN_KEY:
		return 409;
	case DB_GONE:
	case DB_DEADLOCK:
		return 503;
	default:
		return 500;
	}
}

static void disconnect(struct db_state *st)
{
	for (size_t i = 0; i < st->ncache; i++)
		mysql_stmt_close(st->cache[i].stmt);
	st->ncache = 0;
	if (st->mysql)
		mysql_close(st->mysql);
	st->mysql = NULL;
	/* in_tx stays as it was: db_tx ends it. A connection lost inside a transaction is not
	 * opened again until then (ensure_connected). */
}

/* Process-wide counts for lib/metrics (db_stats). */
static atomic_ulong stat_connects, stat_connect_failures, stat_errors[DB_ERROR + 1];

void db_stats(struct db_stats *out)
{
	out->connects = atomic_load_explicit(&stat_connects, memory_order_relaxed);
	out->connect_failures = atomic_load_explicit(&stat_connect_failures, memory_order_relaxed);
	for (int i = 0; i <= DB_ERROR; i++)
		out->errors[i] = atomic_load_explicit(&stat_errors[i], memory_order_relaxed);
}

static int fail(struct db_conn *db, unsigned int e, const char *msg)
{
	db->err = db_err_from_errno(e);
	atomic_fetch_add_explicit(&stat_errors[db->err], 1, memory_order_relaxed);
	snprintf(db->errstr, sizeof(db->errstr), "%u: %s", e, msg ? msg : "");
	if (db->err == DB_GONE)
		disconnect(db->st); /* reopened on next use */
	return -1;
}

static int ensure_connected(struct db_conn *db)
{
	struct db_state *st = db->st;
	const struct store_config *cfg = st->cfg;
	unsigned int timeout;
	MYSQL *m;

	if (st->mysql) {
		/* A connection idle for a while may have lost its server (a restart, a timeout):
		 * one ping finds out before a request's statement would, so the request is served
		 * on a fresh connection instead of answering 503. Never inside a transaction. */
		long long now = clock_now_ms();
		if (!st->in_tx && now - st->last_used_ms > DB_IDLE_CHECK_MS && mysql_ping(st->mysql) != 0)
			disconnect(st);
		st->last_used_ms = now;
		if (st->mysql)
			return 0;
	}
	if (st->in_tx) {
		/* Lost inside a transaction: the server rolled back what ran of it. A new connection
		 * would run the rest statement by statement, each committed on its own. */
		db->err = DB_GONE;
		snprintf(db->errstr, sizeof(db->errstr), "connection lost inside a transaction");
		return -1;
	}
	m = mysql_init(NULL);
	if (!m) {
		db->err = DB_GONE;
		snprintf(db->errstr, sizeof(db->errstr), "out of memory");
		return -1;
	}
	timeout = (unsigned int)cfg->db_timeout;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	/* Reads wait longer than connects: a slow query is not a dead server. */
	timeout = (unsigned int)cfg->db_timeout * 6;
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m, MYSQL_INIT_COMMAND,
		      "SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION,"
		      "ERROR_FOR_DIVISION_BY_ZERO', tx_isolation = 'READ-COMMITTED'");
	/* CLIENT_FOUND_ROWS: an UPDATE reports rows matched, so "did it apply" checks are reliable. */
	if (!mysql_real_connect(m, cfg->db_socket ? NULL : cfg->db_host, cfg->db_user, cfg->db_password, cfg->db_name,
				(unsigned int)cfg->db_port, cfg->db_socket, CLIENT_FOUND_ROWS)) {
		unsigned int e = mysql_errno(m);
		snprintf(db->errstr, sizeof(db->errstr), "connect: %u: %s", e, mysql_error(m));
		mysql_close(m);
		/* Any failure to connect (refused, bad credentials, unknown database) is "down" to a client. */
		db->err = DB_GONE;
		atomic_fetch_add_explicit(&stat_connect_failures, 1, memory_order_relaxed);
		return -1;
	}
	atomic_fetch_add_explicit(&stat_connects, 1, memory_order_relaxed);
	st->mysql = m;
	st->last_used_ms = clock_now_ms();
	return 0;
}

struct db_conn *db_conn_new(const struct store_config *cfg)
{
	struct db_conn *db = calloc(1, sizeof(*db));
	if (!db)
		return NULL;
	db->st = calloc(1, sizeof(*db->st));
	if (!db->st) {
		free(db);
		return NULL;
	}
	db->st->cfg = cfg;
	return db;
}

void db_conn_free(struct db_conn *db)
{
	if (!db)
		return;
	disconnect(db->st);
	free(db->st);
	free(db);
}

int db_ping(struct db_conn *db)
{
	db->err = DB_OK;
	if (ensure_connected(db) != 0)
		return -1;
	if (mysql_ping(db->st->mysql) != 0)
		return fail(db, mysql_errno(db->st->mysql), mysql_error(db->st->mysql));
	return 0;
}

/* Returns the cached statement for `sql`, preparing it on first use; NULL with db->err on failure. */
static MYSQL_STMT *prepare(struct db_conn *db, const char *sql, bool *cached)
{
	struct db_state *st = db->st;
	MYSQL_STMT *stmt;

	if (ensure_connected(db) != 0)
		return NULL;
	for (size_t i = 0; i < st->ncache; i++) {
		if (st->cache[i].sql == sql) {
			*cached = true;
			return st->cache[i].stmt;
		}
	}
	stmt = mysql_stmt_init(st->mysql);
	if (!stmt) {
		fail(db, mysql_errno(st->mysql), mysql_error(st->mysql));
		return NULL;
	}
	if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
		unsigned int e = mysql_stmt_errno(stmt);
		char msg[200];
		snprintf(msg, sizeof(msg), "prepare: %s", mysql_stmt_error(stmt));
		mysql_stmt_close(stmt);
		fail(db, e, msg);
		return NULL;
	}
	bool update_max = false;
	mysql_stmt_attr_set(stmt, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
	*cached = st->ncache < DB_CACHE_MAX;
	if (*cached)
		st->cache[st->ncache++] = (struct cached_stmt){sql, stmt};
	return stmt;
}

/* Binds and executes; returns 0 or -1 with db->err set (the statement stays usable). */
static int execute(struct db_conn *db, MYSQL_STMT *stmt, const struct db_val *params, size_t n)
{
	MYSQL_BIND bind[64];
	long long ints[64];
	unsigned long lens[64];

	if (n > 64 || mysql_stmt_param_count(stmt) != n) {
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "statement wants %lu parameters, got %zu",
			 mysql_stmt_param_count(stmt), n);
		return -1;
	}
	memset(bind, 0, sizeof(bind[0]) * (n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		switch (params[i].type) {
		case DB_T_I64:
			ints[i] = params[i].i;
			bind[i].buffer_type = MYSQL_TYPE_LONGLONG;
			bind[i].buffer = &ints[i];
			break;
		case DB_T_STR:
			lens[i] = params[i].len;
			bind[i].buffer_type = MYSQL_TYPE_STRING;
			bind[i].buffer = (void *)params[i].s;
			bind[i].buffer_length = params[i].len;
			bind[i].length = &lens[i];
			break;
		default:
			bind[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		}
	}
	if ((n && mysql_stmt_bind_param(stmt, bind) != 0) || mysql_stmt_execute(stmt) != 0)
		return fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
	return 0;
}

/* Closes a statement that did not fit the cache, or after an error that may have spoiled it. */
/* Drops `stmt` from the cache and closes it. */
static void uncache(struct db_state *st, MYSQL_STMT *stmt)
{
	for (size_t i = 0; i < st->ncache; i++) {
		if (st->cache[i].stmt == stmt) {
			st->cache[i] = st->cache[--st->ncache];
			break;
		}
	}
	mysql_stmt_close(stmt);
}

/*
 * After a statement ran: a statement outside the cache is closed; a cached one keeps its
 * preparation unless it failed, because a statement that failed at execution may be left
 * in a state the server no longer agrees with (seen with MariaDB 10.11 after a full-text
 * parse error): it is closed and prepared afresh on next use.
 */
static void done(struct db_conn *db, MYSQL_STMT *stmt, bool cached, bool failed)
{
	if (!stmt || !db->st->mysql)
		return; /* disconnect() already closed every cached statement */
	if (!cached)
		mysql_stmt_close(stmt);
	else if (failed)
		uncache(db->st, stmt);
	else
		mysql_stmt_free_result(stmt);
}

int db_exec(struct db_conn *db, const char *sql, const struct db_val *params, size_t n,
	    struct db_exec_result *res)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		bool cached = false;
		MYSQL_STMT *stmt;

		db->err = DB_OK;
		stmt = prepare(db, sql, &cached);
		if (!stmt) {
			/* Nothing ran: a connection found dead while preparing is opened again once. */
			if (db->err == DB_GONE && !db->st->in_tx && attempt == 0)
				continue;
			return -1;
		}
		if (execute(db, stmt, params, n) == 0) {
			if (res) {
				res->affected = mysql_stmt_affected_rows(stmt);
				res->insert_id = mysql_stmt_insert_id(stmt);
			}
			done(db, stmt, cached, false);
			return 0;
		}
		done(db, stmt, cached, true);
		/* A lone statement that lost a deadlock was rolled back by the server: run it again once. */
		if (db->err != DB_DEADLOCK || db->st->in_tx)
			break;
	}
	return -1;
}

void db_rows_free(struct db_rows *rows)
{
	if (!rows)
		return;
	for (size_t i = 0; i < rows->nrows * rows->ncols; i++)
		free(rows->cells[i]);
	free(rows->cells);
	free(rows->lens);
	free(rows);
}

/* Fetches every row of an executed statement as text cells. */
static int fetch_all(struct db_conn *db, MYSQL_STMT *stmt, struct db_rows **out)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(stmt);
	struct db_rows *rows = NULL;
	MYSQL_BIND *bind = NULL;
	char *bufs = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL, *errs = NULL;
	size_t ncols, cap = 0;
	int rc = -1;

	if (!meta) {
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "query returned no result set");
		return -1;
	}
	if (mysql_stmt_store_result(stmt) != 0) {
		mysql_free_result(meta);
		return fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
	}
	ncols = mysql_num_fields(meta);
	rows = calloc(1, sizeof(*rows));
	bind = calloc(ncols ? ncols : 1, sizeof(*bind));
	bufs = malloc((ncols ? ncols : 1) * DB_CELL_INIT);
	lens = calloc(ncols ? ncols : 1, sizeof(*lens));
	nulls = calloc(ncols ? ncols : 1, sizeof(*nulls));
	errs = calloc(ncols ? ncols : 1, sizeof(*errs));
	if (!rows || !bind || !bufs || !lens || !nulls || !errs)
		goto oom;
	rows->ncols = ncols;
	for (size_t c = 0; c < ncols; c++) {
		bind[c].buffer_type = MYSQL_TYPE_STRING;
		bind[c].buffer = bufs + c * DB_CELL_INIT;
		bind[c].buffer_length = DB_CELL_INIT;
		bind[c].length = &lens[c];
		bind[c].is_null = &nulls[c];
		bind[c].error = &errs[c];
	}
	if (ncols && mysql_stmt_bind_result(stmt, bind) != 0) {
		fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
		goto out;
	}
	for (;;) {
		int f = mysql_stmt_fetch(stmt);
		if (f == MYSQL_NO_DATA)
			break;
		if (f == 1) {
			fail(db, mysql_stmt_errno(stmt), mysql_stmt_error(stmt));
			goto out;
		}
		if (rows->nrows == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **cells = realloc(rows->cells, ncap * ncols * sizeof(char *) + 1);
			if (!cells)
				goto oom;
			rows->cells = cells;
			size_t *clens = realloc(rows->lens, ncap * ncols * sizeof(size_t) + 1);
			if (!clens)
				goto oom;
			rows->lens = clens;
			cap = ncap;
		}
		for (size_t c = 0; c < ncols; c++) {
			size_t idx = rows->nrows * ncols + c;
			rows->cells[idx] = NULL;
			rows->lens[idx] = 0;
			if (nulls[c])
				continue;
			char *cell = malloc(lens[c] + 1);
			if (!cell) {
				for (size_t k = rows->nrows * ncols; k < idx; k++)
					free(rows->cells[k]);
				goto oom;
			}
			if (lens[c] > DB_CELL_INIT) {
				/* Longer than the bound buffer: fetch this column again into its own. */
				MYSQL_BIND b = {0};
				unsigned long l = 0;
				b.buffer_type = MYSQL_TYPE_STRING;
				b.buffer = cell;
				b.buffer_length = lens[c];
				b.length = &l;
				mysql_stmt_fetch_column(stmt, &b, (unsigned int)c, 0);
			} else {
				memcpy(cell, bufs + c * DB_CELL_INIT, lens[c]);
			}
			cell[lens[c]] = '\0';
			rows->cells[idx] = cell;
			rows->lens[idx] = lens[c];
		}
		rows->nrows++;
	}
	rc = 0;
	goto out;
oom:
	db->err = DB_ERROR;
	snprintf(db->errstr, sizeof(db->errstr), "out of memory fetching rows");
out:
	mysql_free_result(meta);
	free(bind);
	free(bufs);
	free(lens);
	free(nulls);
	free(errs);
	if (rc == 0)
		*out = rows;
	else
		db_rows_free(rows);
	return rc;
}

int db_query(struct db_conn *db, const char *sql, const struct db_val *params, size_t n, struct db_rows **out)
{
	*out = NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool cached = false;
		MYSQL_STMT *stmt;
		int rc;

		db->err = DB_OK;
		stmt = prepare(db, sql, &cached);
		if (!stmt) {
			/* Nothing ran: a connection found dead while preparing is opened again once. */
			if (db->err == DB_GONE && !db->st->in_tx && attempt == 0)
				continue;
			return -1;
		}
		rc = execute(db, stmt, params, n);
		if (rc == 0)
			rc = fetch_all(db, stmt, out);
		done(db, stmt, cached, rc != 0);
		if (rc == 0)
			return 0;
		/* A read outside a transaction is safe to run again: after a lost deadlock, and
		 * after a connection that turned out dead (it reconnects on the second try). */
		if ((db->err != DB_DEADLOCK && db->err != DB_GONE) || db->st->in_tx)
			break;
	}
	return -1;
}

long db_exec_affected(struct db_conn *db, const char *sql, const struct db_val *params, size_t n)
{
	struct db_exec_result res;
	if (db_exec(db, sql, params, n, &res) != 0)
		return -1;
	return (long)res.affected;
}

const char *db_cell(const struct db_rows *rows, size_t row, size_t col)
{
	if (!rows || row >= rows->nrows || col >= rows->ncols)
		return NULL;
	return rows->cells[row * rows->ncols + col];
}

bool db_cell_copy(const struct db_rows *rows, size_t row, size_t col, char *dst, size_t len)
{
	const char *s = db_cell(rows, row, col);
	if (!len)
		return false;
	int w = snprintf(dst, len, "%s", s ? s : "");
	return w >= 0 && (size_t)w < len;
}

int64_t db_cell_i64(const struct db_rows *rows, size_t row, size_t col, int64_t def)
{
	int64_t v;
	const char *s = db_cell(rows, row, col);
	return s && parse_i64(s, INT64_MIN, INT64_MAX, &v) ? v : def;
}

static int simple(struct db_conn *db, const char *sql)
{
	if (ensure_connected(db) != 0)
		return -1;
	if (mysql_real_query(db->st->mysql, sql, strlen(sql)) != 0)
		return fail(db, mysql_errno(db->st->mysql), mysql_error(db->st->mysql));
	return 0;
}

int db_tx(struct db_conn *db, int (*fn)(struct db_conn *db, void *arg), void *arg)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		db->err = DB_OK;
		if (simple(db, "START TRANSACTION") != 0) {
			/* Nothing ran yet: a dead connection is simply opened again once. */
			if (db->err == DB_GONE && attempt == 0)
				continue;
			return -1;
		}
		db->st->in_tx = true;
		int rc = fn(db, arg);
		if (rc > 0) {
			/* A refusal: nothing of it is kept, and it is not the database's fault. */
			simple(db, "ROLLBACK");
			db->st->in_tx = false;
			db->err = DB_OK;
			db->errstr[0] = '\0';
			return rc;
		}
		if (rc == 0 && simple(db, "COMMIT") == 0) {
			db->st->in_tx = false;
			return 0;
		}
		enum db_err err = db->err;
		char errstr[sizeof(db->errstr)];
		memcpy(errstr, db->errstr, sizeof(errstr));
		if (db->st->mysql)
			simple(db, "ROLLBACK");
		db->st->in_tx = false;
		db->err = err;
		memcpy(db->errstr, errstr, sizeof(errstr));
		if (err != DB_DEADLOCK)
			break;
	}
	return -1;
}

bool db_json_ids(const int64_t *ids, size_t n, char *buf, size_t len)
{
	size_t o = 0;
	int w;

	if (len < 3)
		return false;
	buf[o++] = '[';
	for (size_t i = 0; i < n; i++) {
		w = snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)ids[i]);
		if (w < 0 || (size_t)w >= len - o)
			return false;
		o += (size_t)w;
	}
	if (o + 2 > len)
		return false;
	buf[o++] = ']';
	buf[o] = '\0';
	return true;
}
