/* expiry.c: the sweeper that deletes guest carts idle for CART_GUEST_IDLE_DAYS, once across instances. */
#include <time.h>

#include "ctx.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "repo.h"
#include "server.h"

#define EXPIRY_BATCH 100
#define SWEEP_EVERY_S 5

/* One sweep of up to EXPIRY_BATCH carts. Rows locked by another instance (or by a shopper's
 * change in flight) are skipped; reads already treat an idle cart as gone, so the sweep's
 * timing never shows. Lines go with their cart (ON DELETE CASCADE). */
static int expiry_tx(struct db_conn *db, void *arg)
{
	size_t *deleted = arg;
	struct db_rows *r;

	*deleted = 0;
	if (repo_guests_expired(db, EXPIRY_BATCH, &r) != 0)
		return -1;
	for (size_t i = 0; i < r->nrows; i++) {
		if (repo_cart_delete(db, db_cell_i64(r, i, 0, 0)) != 0) {
			db_rows_free(r);
			return -1;
		}
		(*deleted)++;
	}
	db_rows_free(r);
	return 0;
}

void guest_expiry_loop(struct ctx *ctx)
{
	struct log_streak streak = {.what = "guest cart sweep"};

	while (!server_stopping()) {
		size_t deleted = 0;
		if (db_tx(ctx->db, expiry_tx, &deleted) != 0) {
			log_streak_fail(&streak, ctx->db->errstr);
		} else {
			log_streak_ok(&streak);
			if (deleted) {
				log_msg(LOG_INFO, NULL, "expiry: deleted %zu idle guest carts", deleted);
				if (deleted == EXPIRY_BATCH)
					continue; /* more are waiting */
			}
		}
		for (int i = 0; i < SWEEP_EVERY_S * 10 && !server_stopping(); i++) {
			struct timespec ts = {0, 100 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
}
