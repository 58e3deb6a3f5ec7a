/* test_db.c: MariaDB error mapping, parameter constructors, rows, and behaviour with no server (lib/db.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db.h"

/* --- db_err_from_errno / db_err_status ------------------------------------------------- */

Test(db_err, no_error)
{
	cr_assert(eq(int, db_err_from_errno(0), DB_OK));
}

Test(db_err, duplicate_key)
{
	cr_assert(eq(int, db_err_from_errno(1062), DB_DUPLICATE)); /* ER_DUP_ENTRY */
	cr_assert(eq(int, db_err_from_errno(1586), DB_DUPLICATE)); /* ER_DUP_ENTRY_WITH_KEY_NAME */
}

Test(db_err, deadlock_and_lock_wait)
{
	cr_assert(eq(int, db_err_from_errno(1213), DB_DEADLOCK)); /* ER_LOCK_DEADLOCK */
	cr_assert(eq(int, db_err_from_errno(1205), DB_DEADLOCK)); /* ER_LOCK_WAIT_TIMEOUT */
}

Test(db_err, foreign_key)
{
	cr_assert(eq(int, db_err_from_errno(1451), DB_FOREIGN_KEY)); /* ER_ROW_IS_REFERENCED_2 */
	cr_assert(eq(int, db_err_from_errno(1452), DB_FOREIGN_KEY)); /* ER_NO_REFERENCED_ROW_2 */
}

Test(db_err, connection_gone)
{
	cr_assert(eq(int, db_err_from_errno(2006), DB_GONE)); /* CR_SERVER_GONE_ERROR */
	cr_assert(eq(int, db_err_from_errno(2013), DB_GONE)); /* CR_SERVER_LOST */
	cr_assert(eq(int, db_err_from_errno(2002), DB_GONE)); /* CR_CONNECTION_ERROR */
	cr_assert(eq(int, db_err_from_errno(2003), DB_GONE)); /* CR_CONN_HOST_ERROR */
	cr_assert(eq(int, db_err_from_errno(1040), DB_GONE)); /* ER_CON_COUNT_ERROR */
	cr_assert(eq(int, db_err_from_errno(1053), DB_GONE)); /* ER_SERVER_SHUTDOWN */
	cr_assert(eq(int, db_err_from_errno(4031), DB_GONE)); /* idle connection closed by the server */
}

Test(db_err, everything_else_is_error)
{
	cr_assert(eq(int, db_err_from_errno(1146), DB_ERROR)); /* ER_NO_SUCH_TABLE */
	cr_assert(eq(int, db_err_from_errno(1064), DB_ERROR)); /* ER_PARSE_ERROR */
	cr_assert(eq(int, db_err_from_errno(1054), DB_ERROR)); /* ER_BAD_FIELD_ERROR */
	cr_assert(eq(int, db_err_from_errno(1406), DB_ERROR)); /* ER_DATA_TOO_LONG */
	cr_assert(eq(int, db_err_from_errno(1), DB_ERROR));
	cr_assert(eq(int, db_err_from_errno(99999), DB_ERROR));
	cr_assert(eq(int, db_err_from_errno(0xffffffffu), DB_ERROR));
}

Test(db_err, http_status)
{
	cr_assert(eq(int, db_err_status(DB_DUPLICATE), 409));
	cr_assert(eq(int, db_err_status(DB_FOREIGN_KEY), 409));
	cr_assert(eq(int, db_err_status(DB_GONE), 503));
	cr_assert(eq(int, db_err_status(DB_DEADLOCK), 503));
	cr_assert(eq(int, db_err_status(DB_ERROR), 500));
}

/* --- parameter constructors ----------------------------------------------------------- */

Test(db_val, str_null_is_sql_null)
{
	struct db_val v = db_str(NULL);
	cr_assert(eq(int, v.type, DB_T_NULL));
	cr_assert(zero(ptr, (void *)v.s));
	v = db_strn(NULL, 10);
	cr_assert(eq(int, v.type, DB_T_NULL));
	cr_assert(eq(sz, v.len, 0));
}

Test(db_val, str_borrows_with_length)
{
	const char *s = "caf\xc3\xa9";
	struct db_val v = db_str(s);
	cr_assert(eq(int, v.type, DB_T_STR));
	cr_assert(eq(ptr, (void *)v.s, (void *)s));
	cr_assert(eq(sz, v.len, 5));
	v = db_str("");
	cr_assert(eq(int, v.type, DB_T_STR), "an empty string is not NULL");
	cr_assert(eq(sz, v.len, 0));
}

Test(db_val, strn_keeps_embedded_nul)
{
	struct db_val v = db_strn("a\0b", 3);
	cr_assert(eq(int, v.type, DB_T_STR));
	cr_assert(eq(sz, v.len, 3));
}

Test(db_val, i64_and_null)
{
	struct db_val v = db_i64(INT64_MIN);
	cr_assert(eq(int, v.type, DB_T_I64));
	cr_assert(eq(i64, v.i, INT64_MIN));
	v = db_null();
	cr_assert(eq(int, v.type, DB_T_NULL));
}

/* --- rows ----------------------------------------------------------------------------------- */

/* Builds rows the way fetch_all does: malloc'd cells, NULL for SQL NULL. */
static struct db_rows *make_rows(size_t nrows, size_t ncols, const char *const *cells)
{
	struct db_rows *r = calloc(1, sizeof(*r));
	r->nrows = nrows;
	r->ncols = ncols;
	r->cells = calloc(nrows * ncols + 1, sizeof(char *));
	r->lens = calloc(nrows * ncols + 1, sizeof(size_t));
	for (size_t i = 0; i < nrows * ncols; i++) {
		r->cells[i] = cells[i] ? strdup(cells[i]) : NULL;
		r->lens[i] = cells[i] ? strlen(cells[i]) : 0;
	}
	return r;
}

Test(db_rows, cells_and_bounds)
{
	static const char *const cells[] = {"1", "alice", NULL, "2", "bob", "x"};
	struct db_rows *r = make_rows(2, 3, cells);
	cr_assert(eq(str, (char *)db_cell(r, 0, 1), "alice"));
	cr_assert(eq(str, (char *)db_cell(r, 1, 2), "x"));
	cr_assert(zero(ptr, (void *)db_cell(r, 0, 2)), "SQL NULL");
	cr_assert(zero(ptr, (void *)db_cell(r, 2, 0)), "row out of range");
	cr_assert(zero(ptr, (void *)db_cell(r, 0, 3)), "column out of range");
	cr_assert(zero(ptr, (void *)db_cell(r, SIZE_MAX, SIZE_MAX)));
	cr_assert(zero(ptr, (void *)db_cell(NULL, 0, 0)));
	db_rows_free(r);
}

Test(db_rows, cell_i64)
{
	static const char *const cells[] = {"42", "-9223372036854775808", "12abc", NULL, "", "9223372036854775808"};
	struct db_rows *r = make_rows(1, 6, cells);
	cr_assert(eq(i64, db_cell_i64(r, 0, 0, -1), 42));
	cr_assert(eq(i64, db_cell_i64(r, 0, 1, -1), INT64_MIN));
	cr_assert(eq(i64, db_cell_i64(r, 0, 2, -1), -1), "junk gives the default");
	cr_assert(eq(i64, db_cell_i64(r, 0, 3, -1), -1), "NULL gives the default");
	cr_assert(eq(i64, db_cell_i64(r, 0, 4, -1), -1), "empty gives the default");
	cr_assert(eq(i64, db_cell_i64(r, 0, 5, -1), -1), "overflow gives the default");
	cr_assert(eq(i64, db_cell_i64(r, 0, 9, 7), 7), "out of range gives the default");
	db_rows_free(r);
}

Test(db_rows, free_accepts_null_and_empty)
{
	db_rows_free(NULL);
	struct db_rows *r = make_rows(0, 2, NULL);
	cr_assert(zero(ptr, (void *)db_cell(r, 0, 0)));
	db_rows_free(r);
}

/* --- no server ------------------------------------------------------------------------------- */

static struct store_config cfg;

/* A config pointing at 127.0.0.1:1, where nothing listens. */
static void unreachable(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.db_host = "127.0.0.1";
	cfg.db_port = 1;
	cfg.db_socket = NULL;
	cfg.db_name = "store_test";
	cfg.db_user = "nobody";
	cfg.db_password = "nothing";
	cfg.db_timeout = 1;
}

TestSuite(db_down, .init = unreachable, .timeout = 20);

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(db_down, conn_new_does_not_connect)
{
	double t0 = now_s();
	struct db_conn *db = db_conn_new(&cfg);
	cr_assert(not(zero(ptr, db)));
	cr_assert(eq(int, db->err, DB_OK));
	cr_assert(lt(dbl, now_s() - t0, 0.5));
	db_conn_free(db);
	db_conn_free(NULL);
}

Test(db_down, ping_fails_gone)
{
	struct db_conn *db = db_conn_new(&cfg);
	cr_assert(eq(int, db_ping(db), -1));
	cr_assert(eq(int, db->err, DB_GONE));
	cr_assert(eq(int, db_err_status(db->err), 503));
	cr_assert(not(zero(sz, strlen(db->errstr))), "errstr says why, for the log");
	/* Again: still no crash, still gone. */
	cr_assert(eq(int, db_ping(db), -1));
	cr_assert(eq(int, db->err, DB_GONE));
	db_conn_free(db);
}

Test(db_down, query_fails_gone_with_null_rows)
{
	static const char sql[] = "SELECT id, name FROM products WHERE id = ?";
	struct db_conn *db = db_conn_new(&cfg);
	static struct db_rows dummy;
	struct db_rows *rows = &dummy; /* must be reset to NULL */
	struct db_val p[] = {db_i64(1)};
	cr_assert(eq(int, db_query(db, sql, p, 1, &rows), -1));
	cr_assert(zero(ptr, rows));
	cr_assert(eq(int, db->err, DB_GONE));
	db_conn_free(db);
}

Test(db_down, exec_fails_gone)
{
	static const char sql[] = "UPDATE products SET name = ? WHERE id = ?";
	struct db_conn *db = db_conn_new(&cfg);
	struct db_exec_result res = {123, 456};
	struct db_val p[] = {db_str("x"), db_i64(1)};
	cr_assert(eq(int, db_exec(db, sql, p, 2, &res), -1));
	cr_assert(eq(int, db->err, DB_GONE));
	cr_assert(eq(int, db_exec(db, sql, p, 2, NULL), -1));
	db_conn_free(db);
}

static int tx_calls;

static int tx_fn(struct db_conn *db, void *arg)
{
	(void)db;
	(void)arg;
	tx_calls++;
	return 0;
}

Test(db_down, tx_fails_gone_without_running_fn)
{
	struct db_conn *db = db_conn_new(&cfg);
	tx_calls = 0;
	cr_assert(eq(int, db_tx(db, tx_fn, NULL), -1));
	cr_assert(eq(int, db->err, DB_GONE));
	cr_assert(eq(int, tx_calls, 0));
	db_conn_free(db);
}

Test(db_down, error_clears_on_next_call)
{
	/* err reflects the last call, not a sticky state: a failing call sets it afresh. */
	struct db_conn *db = db_conn_new(&cfg);
	db->err = DB_DUPLICATE;
	cr_assert(eq(int, db_ping(db), -1));
	cr_assert(eq(int, db->err, DB_GONE));
	db_conn_free(db);
}
