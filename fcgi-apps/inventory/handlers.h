/* handlers.h: the inventory service's route handlers and what they share. */
#ifndef STORE_INVENTORY_HANDLERS_H
#define STORE_INVENTORY_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

struct request;
struct db_conn;
struct ctx;

#define ALERTS_MAX 100

/* Low-stock alerts found inside a transaction, sent once it committed. */
struct alerts {
	size_t n;
	int64_t pid[ALERTS_MAX], available[ALERTS_MAX], threshold[ALERTS_MAX];
};

/*
 * After a change to `pid`'s stock (inside the transaction, row locked): arms or re-arms
 * its low-stock alert. Falling to or below the threshold records one alert (and marks the
 * row so no second one follows); rising above it clears the mark. Returns 0 or -1.
 */
int stock_after_change(struct db_conn *db, int64_t pid, struct alerts *a);

/* Enqueues the recorded low_stock jobs (after commit); failures are logged and the mark reset. */
void alerts_send(struct request *req, const struct alerts *a);

void stock_get(struct request *req);
void stock_many(struct request *req);
void stock_put(struct request *req);
void stock_adjust(struct request *req);
void stock_movements(struct request *req);
void stock_low(struct request *req);
/* GET /internal/inventory/levels?ids=: available units of up to 100 products, for other services. */
void stock_levels(struct request *req);

void reservation_create(struct request *req);
void reservation_get(struct request *req);
void reservation_commit(struct request *req);
void reservation_release(struct request *req);

/* The background sweeper: releases reservations past their TTL, exactly once across instances. */
void expiry_loop(struct ctx *ctx);

#endif
