/* session.c: Redis-backed sessions with hashed, rotating refresh tokens and reuse detection. */
#include "session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "redis.h"

/*
 * The per-user index user_sessions:<uid> is a sorted set of sids scored by the time (ms)
 * each session's refresh lifetime ends: expired entries are pruned by score, and the
 * session that would end first (least recently signed in or refreshed) is revoked first
 * when the cap is reached. INDEX_LUA opens every script that touches it: now_ms(), and
 * zindex(key), which turns an index left as a plain set by an older version into the
 * sorted set (scored by each session's remaining TTL).
 */
#define INDEX_LUA                                                                                              \
	"local function now_ms() local t = redis.call('TIME') "                                             \
	"  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end "                            \
	"local function zindex(k) "                                                                         \
	"  if redis.call('TYPE', k).ok ~= 'set' then return end "                                           \
	"  local m = redis.call('SMEMBERS', k) "                                                            \
	"  redis.call('DEL', k) "                                                                           \
	"  for _, s in ipairs(m) do "                                                                       \
	"    local t = redis.call('PTTL', 'session:' .. s) "                                                \
	"    if t > 0 then redis.call('ZADD', k, now_ms() + t, s) end "                                     \
	"  end "                                                                                            \
	"end "

/* Moves the user's generation (key `k`) on: to a value never used before (Redis time in µs,
 * above the last one), so even an expired key cannot come back with a value an earlier
 * sign-in read. */
#define MOVE_GEN_LUA                                                                                           \
	"local function move_gen(k) local t = redis.call('TIME') "                                          \
	"  local g = tonumber(t[1]) * 1000000 + tonumber(t[2]) "                                             \
	"  local old = tonumber(redis.call('GET', k) or '0') or 0 "                                          \
	"  if g <= old then g = old + 1 end "                                                                \
	"  redis.call('SET', k, string.format('%.0f', g), 'EX', 172800) "                                    \
	"end "

/* KEYS[1] session, KEYS[2] user index, KEYS[3] user generation; ARGV uid, role, rt hash,
 * ttl, sid, cap, the generation read before the account was, e-mail, name, credentials version.
 * Returns 0 (nothing written)
 * when the generation moved on since, else 1. Prunes expired index entries, then revokes
 * the sessions that end first beyond the cap. */
static const char create_lua[] = INDEX_LUA
	"if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[7] then return 0 end "
	"local now = now_ms() "
	"zindex(KEYS[2]) "
	"redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'role', ARGV[2], 'rt', ARGV[3], 'email', ARGV[8], 'name', ARGV[9], "
	"'cv', ARGV[10]) "
	"redis.call('EXPIRE', KEYS[1], ARGV[4]) "
	"redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) "
	"redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]) * 1000, ARGV[5]) "
	"redis.call('EXPIRE', KEYS[2], ARGV[4]) "
	"local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[6]) "
	"if over > 0 then "
	"  for _, s in ipairs(redis.call('ZRANGE', KEYS[2], 0, over)) do "
	"    if over > 0 and s ~= ARGV[5] then "
	"      redis.call('DEL', 'session:' .. s) "
	"      redis.call('ZREM', KEYS[2], s) "
	"      over = over - 1 "
	"    end "
	"  end "
	"end "
	"return 1";

/*
 * KEYS[1] session; ARGV presented hash, successor's hash, sid, ttl, grace (s).
 * Returns {uid, role, cv} when rotated, 0 when unknown, -1 when reused (and revokes).
 * The successor is derived from the presented token, so presenting the token that was
 * just rotated again, while its successor is still unused and within the grace, is a
 * retry whose answer was lost: it is answered with the same successor. Any other old
 * token is a second use.
 */
static const char rotate_lua[] = INDEX_LUA
	"local s = redis.call('HMGET', KEYS[1], 'uid', 'role', 'rt', 'prev', 'prev_until', 'cv') "
	"if not s[1] then return 0 end "
	"local idx = 'user_sessions:' .. s[1] "
	"zindex(idx) "
	"local now = now_ms() "
	"if s[3] == ARGV[1] then "
	"  redis.call('HSET', KEYS[1], 'rt', ARGV[2], 'prev', ARGV[1], 'prev_until', now + tonumber(ARGV[5]) * 1000) "
	"elseif not (s[4] == ARGV[1] and s[3] == ARGV[2] and tonumber(s[5] or '0') >= now) then "
	"  redis.call('DEL', KEYS[1]) "
	"  redis.call('ZREM', idx, ARGV[3]) "
	"  return -1 "
	"end "
	"redis.call('EXPIRE', KEYS[1], ARGV[4]) "
	"redis.call('ZADD', idx, now + tonumber(ARGV[4]) * 1000, ARGV[3]) "
	"redis.call('EXPIRE', idx, ARGV[4]) "
	"return {s[1], s[2], s[6] or '0'}";

/* KEYS[1] session; ARGV cv. Only ever moves the version on: two password changes at once may
 * give theirs in the other order. */
static const char set_cv_lua[] = "if redis.call('EXISTS', KEYS[1]) == 1 and "
				 "tonumber(redis.call('HGET', KEYS[1], 'cv') or '0') < tonumber(ARGV[1]) then "
				 "redis.call('HSET', KEYS[1], 'cv', ARGV[1]) end "
				 "return 1";

/* KEYS[1] user index, KEYS[2] user generation; ARGV the new name. Returns the number of
 * sessions renamed. */
static const char rename_lua[] = INDEX_LUA MOVE_GEN_LUA
	"move_gen(KEYS[2]) "
	"zindex(KEYS[1]) "
	"local n = 0 "
	"for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
	"  local skey = 'session:' .. sid "
	"  if redis.call('EXISTS', skey) == 1 then redis.call('HSET', skey, 'name', ARGV[1]) n = n + 1 end "
	"end "
	"return n";

/* KEYS[1] session; ARGV sid. */
static const char revoke_lua[] = INDEX_LUA
	"local uid = redis.call('HGET', KEYS[1], 'uid') "
	"redis.call('DEL', KEYS[1]) "
	"if uid then zindex('user_sessions:' .. uid) redis.call('ZREM', 'user_sessions:' .. uid, ARGV[1]) end "
	"return 1";

/*
 * KEYS[1] user index, KEYS[2] user generation; ARGV sid to keep ("" for none), role whose
 * sessions are kept ("" for none). Moves the generation on first. Returns the number of
 * sessions ended.
 */
static const char revoke_user_lua[] = INDEX_LUA MOVE_GEN_LUA
	"move_gen(KEYS[2]) "
	"zindex(KEYS[1]) "
	"local n = 0 "
	"for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do "
	"  local skey = 'session:' .. sid "
	"  if sid ~= ARGV[1] and (ARGV[2] == '' or redis.call('HGET', skey, 'role') ~= ARGV[2]) then "
	"    redis.call('DEL', skey) "
	"    redis.call('ZREM', KEYS[1], sid) "
	"    n = n + 1 "
	"  end "
	"end "
	"return n";

static void hex_random(char *out, size_t nbytes)
{
	unsigned char buf[32];
	randombytes_buf(buf, nbytes);
	sodium_bin2hex(out, nbytes * 2 + 1, buf, nbytes);
}

/* Hex BLAKE2b-256 of the secret part of a refresh token. */
static void hash_secret(const char *secret, char out[65])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof(h), (const unsigned char *)secret, strlen(secret), NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool session_sid_valid(const char *sid)
{
	return sid && strlen(sid) == SESSION_SID_LEN && is_hex(sid, SESSION_SID_LEN);
}

static const char *role_str(enum role role)
{
	return role == ROLE_ADMIN ? "admin" : "customer";
}

int session_user_gen(struct redis_conn *r, int64_t uid, char gen[SESSION_GEN_MAX])
{
	redisReply *rep = redis_cmd(r, "GET user_gen:%lld", (long long)uid);
	int rc = -1;

	if (!rep)
		return -1;
	if (rep->type == REDIS_REPLY_NIL) {
		snprintf(gen, SESSION_GEN_MAX, "0");
		rc = 0;
	} else if (rep->type == REDIS_REPLY_STRING && rep->len < SESSION_GEN_MAX) {
		memcpy(gen, rep->str, rep->len + 1);
		rc = 0;
	}
	freeReplyObject(rep);
	return rc;
}

int session_create(struct redis_conn *r, int64_t uid, enum role role, const struct session_contact *who,
		   int64_t cv, const char *gen, long ttl, long cap, char sid[SESSION_SID_LEN + 1],
		   char refresh[SESSION_REFRESH_LEN + 1])
{
	char secret[65], hash[65], skey[64], ukey[48], gkey[48], uids[24], ttls[24], caps[24], cvs[24];
	redisReply *rep;

	hex_random(sid, 16);
	hex_random(secret, 32);
	snprintf(refresh, SESSION_REFRESH_LEN + 1, "%s.%s", sid, secret);
	hash_secret(secret, hash);
	snprintf(skey, sizeof(skey), "session:%s", sid);
	snprintf(ukey, sizeof(ukey), "user_sessions:%lld", (long long)uid);
	snprintf(uids, sizeof(uids), "%lld", (long long)uid);
	snprintf(ttls, sizeof(ttls), "%ld", ttl);
	snprintf(caps, sizeof(caps), "%ld", cap > 0 ? cap : 1);
	snprintf(gkey, sizeof(gkey), "user_gen:%lld", (long long)uid);
	snprintf(cvs, sizeof(cvs), "%lld", (long long)cv);
	rep = redis_cmd(r, "EVAL %s 3 %s %s %s %s %s %s %s %s %s %s %s %s %s", create_lua, skey, ukey, gkey, uids,
			role_str(role), hash, ttls, sid, caps, gen, who->email, who->name, cvs);
	int rc = rep && rep->type == REDIS_REPLY_INTEGER ? (rep->integer == 1 ? 0 : 1) : -1;
	if (rep)
		freeReplyObject(rep);
	sodium_memzero(secret, sizeof(secret));
	if (rc != 0) {
		sid[0] = '\0';
		sodium_memzero(refresh, SESSION_REFRESH_LEN + 1);
	}
	return rc;
}

int session_get(struct redis_conn *r, const char *sid, struct session_info *out)
{
	redisReply *rep = redis_cmd(r, "HMGET session:%s uid role email name", sid);
	int rc = -1;

	if (!rep)
		return -1;
	out->has_contact = false;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4) {
		redisReply *u = rep->element[0], *ro = rep->element[1], *e = rep->element[2], *n = rep->element[3];
		rc = 1;
		if (u->type == REDIS_REPLY_STRING && ro->type == REDIS_REPLY_STRING &&
		    parse_i64(u->str, 1, INT64_MAX, &out->uid)) {
			out->role = strcmp(ro->str, "admin") == 0 ? ROLE_ADMIN : ROLE_CUSTOMER;
			rc = 0;
			/* A contact that is absent (an older session) or does not fit is left to the
			 * user service (user_client_caller). */
			if (e->type == REDIS_REPLY_STRING && e->len > 0 && e->len < sizeof(out->contact.email) &&
			    n->type == REDIS_REPLY_STRING && n->len < sizeof(out->contact.name)) {
				memcpy(out->contact.email, e->str, e->len + 1);
				memcpy(out->contact.name, n->str, n->len + 1);
				out->has_contact = true;
			}
		}
	}
	freeReplyObject(rep);
	return rc;
}

/*
 * The successor of a refresh token: BLAKE2b-256 of its secret, keyed with a key derived from
 * the server's secret (so that only the server can compute it, and a retry gets the same).
 */
static void successor(const char *server_secret, const char *secret, char out[65])
{
	static const char label[] = "store refresh token successor v1";
	unsigned char key[crypto_generichash_KEYBYTES], next[32];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(key));
	crypto_generichash_update(&st, (const unsigned char *)label, sizeof(label));
	crypto_generichash_update(&st, (const unsigned char *)server_secret, strlen(server_secret));
	crypto_generichash_final(&st, key, sizeof(key));
	crypto_generichash(next, sizeof(next), (const unsigned char *)secret, strlen(secret), key, sizeof(key));
	sodium_bin2hex(out, 65, next, sizeof(next));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(next, sizeof(next));
}

enum session_rotate session_rotate(struct redis_conn *r, const char *server_secret, const char *refresh, long ttl,
				   char refresh_out[SESSION_REFRESH_LEN + 1], char sid_out[SESSION_SID_LEN + 1],
				   struct session_info *out)
{
	char sid[SESSION_SID_LEN + 1], secret[65], hash[65], nhash[65], skey[64], ttls[24], graces[24];
	enum session_rotate res = SESSION_DOWN;
	redisReply *rep;

	out->has_contact = false; /* a rotation reads no contact */

	if (!refresh || strlen(refresh) != SESSION_REFRESH_LEN || refresh[SESSION_SID_LEN] != '.' ||
	    !is_hex(refresh, SESSION_SID_LEN) || !is_hex(refresh + SESSION_SID_LEN + 1, 64))
		return SESSION_UNKNOWN;
	memcpy(sid, refresh, SESSION_SID_LEN);
	sid[SESSION_SID_LEN] = '\0';
	hash_secret(refresh + SESSION_SID_LEN + 1, hash);
	successor(server_secret, refresh + SESSION_SID_LEN + 1, secret);
	hash_secret(secret, nhash);
	snprintf(skey, sizeof(skey), "session:%s", sid);
	snprintf(ttls, sizeof(ttls), "%ld", ttl);
	snprintf(graces, sizeof(graces), "%d", SESSION_RETRY_GRACE);
	rep = redis_cmd(r, "EVAL %s 1 %s %s %s %s %s %s", rotate_lua, skey, hash, nhash, sid, ttls, graces);
	if (!rep)
		goto out;
	if (rep->type == REDIS_REPLY_INTEGER) {
		res = rep->integer < 0 ? SESSION_REUSED : SESSION_UNKNOWN;
	} else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
		   rep->element[0]->type == REDIS_REPLY_STRING && rep->element[1]->type == REDIS_REPLY_STRING &&
		   rep->element[2]->type == REDIS_REPLY_STRING && parse_i64(rep->element[0]->str, 1, INT64_MAX, &out->uid) &&
		   parse_i64(rep->element[2]->str, 0, INT64_MAX, &out->cv)) {
		out->role = strcmp(rep->element[1]->str, "admin") == 0 ? ROLE_ADMIN : ROLE_CUSTOMER;
		snprintf(refresh_out, SESSION_REFRESH_LEN + 1, "%s.%s", sid, secret);
		memcpy(sid_out, sid, SESSION_SID_LEN + 1);
		res = SESSION_ROTATED;
	}
	freeReplyObject(rep);
out:
	sodium_memzero(secret, sizeof(secret));
	return res;
}

/* 0 when a script answered an integer (it ran), else -1: Redis unreachable (errstr set by
 * redis_cmd), or an error reply, whose text goes to r->errstr for the caller's log line. Frees
 * `rep`. */
static int integer_reply(struct redis_conn *r, redisReply *rep)
{
	int ok = rep && rep->type == REDIS_REPLY_INTEGER;
	if (rep && rep->type == REDIS_REPLY_ERROR)
		snprintf(r->errstr, sizeof(r->errstr), "%.100s", rep->str);
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

int session_set_cv(struct redis_conn *r, const char *sid, int64_t cv)
{
	char skey[80];
	snprintf(skey, sizeof(skey), "session:%s", sid);
	redisReply *rep = redis_cmd(r, "EVAL %s 1 %s %lld", set_cv_lua, skey, (long long)cv);
	return integer_reply(r, rep);
}

int session_revoke(struct redis_conn *r, const char *sid)
{
	char skey[80];
	snprintf(skey, sizeof(skey), "session:%s", sid);
	redisReply *rep = redis_cmd(r, "EVAL %s 1 %s %s", revoke_lua, skey, sid);
	return integer_reply(r, rep);
}

static int revoke_user(struct redis_conn *r, int64_t uid, const char *keep_sid, const char *keep_role)
{
	char ukey[48], gkey[48];
	snprintf(ukey, sizeof(ukey), "user_sessions:%lld", (long long)uid);
	snprintf(gkey, sizeof(gkey), "user_gen:%lld", (long long)uid);
	redisReply *rep = redis_cmd(r, "EVAL %s 2 %s %s %s %s", revoke_user_lua, ukey, gkey, keep_sid ? keep_sid : "",
				    keep_role);
	return integer_reply(r, rep);
}

int session_revoke_user(struct redis_conn *r, int64_t uid, const char *keep_sid)
{
	return revoke_user(r, uid, keep_sid, "");
}

int session_revoke_user_except_role(struct redis_conn *r, int64_t uid, enum role role)
{
	return revoke_user(r, uid, NULL, role_str(role));
}

int session_user_rename(struct redis_conn *r, int64_t uid, const char *name)
{
	char ukey[48], gkey[48];
	snprintf(ukey, sizeof(ukey), "user_sessions:%lld", (long long)uid);
	snprintf(gkey, sizeof(gkey), "user_gen:%lld", (long long)uid);
	redisReply *rep = redis_cmd(r, "EVAL %s 2 %s %s %s", rename_lua, ukey, gkey, name);
	return integer_reply(r, rep);
}
