/* db.h: MariaDB through prepared statements with typed binding, transactions, error mapping. */
#ifndef STORE_DB_H
#define STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_config;

/* What went wrong, mapped from the server's error numbers. */
enum db_err {
	DB_OK = 0,
	DB_DUPLICATE, /* duplicate key (1062): the caller answers 409 */
	DB_DEADLOCK,  /* deadlock or lock wait timeout (1213, 1205) */
	DB_FOREIGN_KEY, /* a row still referenced (1451) or a reference to no row (1452) */
	DB_GONE,      /* no connection or lost it: the caller answers 503 */
	DB_ERROR,     /* anything else: the caller answers 500 */
};

struct db_conn {
	enum db_err err;
	char errstr[256]; /* for the log only, never for a client */
	struct db_state *st; /* private */
};

enum db_type { DB_T_NULL, DB_T_I64, DB_T_STR };

/* One bound parameter. `s` is borrowed for the duration of the call. */
struct db_val {
	enum db_type type;
	int64_t i;
	const char *s;
	size_t len;
};

/* Parameter constructors. db_str(NULL) is SQL NULL. */
struct db_val db_i64(int64_t i);
struct db_val db_str(const char *s);
struct db_val db_strn(const char *s, size_t len);
struct db_val db_null(void);

/* Rows fetched in full, every cell as text (NULL for SQL NULL). */
struct db_rows {
	size_t nrows, ncols;
	char **cells;  /* nrows * ncols, row-major */
	size_t *lens;
};

struct db_exec_result {
	uint64_t affected;  /* rows changed (or matched with CLIENT_FOUND_ROWS off: changed) */
	uint64_t insert_id; /* AUTO_INCREMENT value of an INSERT */
};

/* Creates an unconnected handle for `cfg` (borrowed; must outlive it). Connects lazily.
 * Returns NULL on allocation failure. */
struct db_conn *db_conn_new(const struct store_config *cfg);

/* Closes and frees; accepts NULL. */
void db_conn_free(struct db_conn *db);

/* Connects if needed and pings the server. Returns 0, or -1 with db->err set. */
int db_ping(struct db_conn *db);

/*
 * Runs a statement that returns no rows. `sql` must be a string that lives for the
 * program (statements are prepared once per connection and cached by this pointer).
 * Outside a transaction a deadlock is retried once. Returns 0 with `res` (may be NULL)
 * filled, or -1 with db->err set; after DB_GONE the connection is reopened on next use.
 */
int db_exec(struct db_conn *db, const char *sql, const struct db_val *params, size_t n,
	    struct db_exec_result *res);

/* db_exec for a statement whose effect is counted (a conditional UPDATE, a DELETE): returns
 * the number of rows changed, or -1 with db->err set. */
long db_exec_affected(struct db_conn *db, const char *sql, const struct db_val *params, size_t n);

/*
 * Runs a query and fetches every row. Outside a transaction it is run once more after a
 * deadlock or a dead connection (reads are safe to repeat). On success returns 0 and *out
 * (caller frees with db_rows_free); on failure returns -1, *out NULL, db->err set.
 */
int db_query(struct db_conn *db, const char *sql, const struct db_val *params, size_t n, struct db_rows **out);

/* Frees rows; accepts NULL. */
void db_rows_free(struct db_rows *rows);

/* Returns the cell text (borrowed) or NULL for SQL NULL or out-of-range indexes. */
const char *db_cell(const struct db_rows *rows, size_t row, size_t col);

/* Copies the cell text into dst (at most len-1 bytes, always NUL-terminated; "" for NULL).
 * Returns false when it did not fit (dst then holds a truncated copy). */
bool db_cell_copy(const struct db_rows *rows, size_t row, size_t col, char *dst, size_t len);

/* The one timestamp format of the API (RFC 3339 UTC to the second) as a SELECT expression:
 * DB_TS("created_at") in a static SQL string. */
#define DB_TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%sZ')"

/* Returns the cell as an integer, `def` for NULL or non-integer text. */
int64_t db_cell_i64(const struct db_rows *rows, size_t row, size_t col, int64_t def);

/*
 * Runs fn(db, arg) inside a transaction: BEGIN, fn, COMMIT. fn returns
 *   0    commit;
 *   -1   a database failure with db->err set: rolled back; after DB_DEADLOCK (of fn or of
 *        COMMIT) the whole transaction runs once more, so fn must be safe to run again from
 *        its original inputs (write its results to fields it resets first, never to its inputs);
 *   > 0  a refusal of its own (a business rule, "not found"): rolled back, never retried.
 * Returns 0 after COMMIT, -1 with db->err set, or fn's positive code (db->err DB_OK).
 */
int db_tx(struct db_conn *db, int (*fn)(struct db_conn *db, void *arg), void *arg);

/*
 * Writes ids[0..n) as a JSON array ("[1,2,3]") into `buf` for a JSON_TABLE parameter, so a
 * variable list binds as one value. Returns false when it does not fit `len`.
 */
bool db_json_ids(const int64_t *ids, size_t n, char *buf, size_t len);

/* What every connection of the process has met so far, for lib/metrics. */
struct db_stats {
	unsigned long connects, connect_failures;
	unsigned long errors[DB_ERROR + 1]; /* failed statements by enum db_err (DB_OK unused) */
};
void db_stats(struct db_stats *out);

/* Maps a MariaDB error number to enum db_err (exposed for tests). */
enum db_err db_err_from_errno(unsigned int mysql_errno);

/* The HTTP status for db->err: 409 (duplicate, still referenced), 503 or 500. */
int db_err_status(enum db_err err);

#endif
