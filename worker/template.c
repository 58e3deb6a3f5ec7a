/* template.c: parsing template files into literal and placeholder pieces, and rendering them from job data. */
#include "template.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "parse.h"

#define NAME_MAX_LEN 64
#define FILE_MAX (256 * 1024) /* a template is a page of text; anything bigger is a mistake */

enum part_id { PART_SUBJECT, PART_TEXT, PART_HTML, PART_COUNT };
static const char *const part_names[PART_COUNT] = {"subject", "text", "html"};

struct piece {
	const char *s; /* into template.text: literal bytes, or the placeholder's name */
	size_t len;
	bool is_var;
};

struct part {
	struct piece *pieces;
	size_t n;
	bool seen;
};

struct template {
	char *text; /* the file's bytes, NUL-terminated; pieces point into it */
	struct part parts[PART_COUNT];
};

struct template_set {
	const char *const *types;
	struct template **t; /* one per type, same order */
	size_t n;
};

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int add_piece(struct part *p, const char *s, size_t len, bool is_var)
{
	if (len == 0 && !is_var)
		return 0;
	struct piece *np = realloc(p->pieces, (p->n + 1) * sizeof(*np));
	if (!np)
		return -1;
	p->pieces = np;
	p->pieces[p->n++] = (struct piece){s, len, is_var};
	return 0;
}

/* Splits one section's bytes into pieces. `line` is the section's first line number, for messages. */
static int parse_part(struct part *p, const char *s, size_t len, int line, char *err, size_t errlen)
{
	const char *end = s + len, *lit = s;

	for (const char *c = s; c < end; c++) {
		if (*c == '\n')
			line++;
		if (!(c[0] == '{' && c + 1 < end && c[1] == '{'))
			continue;
		const char *n = c + 2;
		while (n < end && *n == ' ')
			n++;
		const char *name = n;
		while (n < end && name_char(*n))
			n++;
		size_t nlen = (size_t)(n - name);
		while (n < end && *n == ' ')
			n++;
		if (nlen == 0 || nlen > NAME_MAX_LEN || n + 1 >= end || n[0] != '}' || n[1] != '}') {
			snprintf(err, errlen, "line %d: \"{{\" does not open a placeholder like {{name}}", line);
			return -1;
		}
		if (add_piece(p, lit, (size_t)(c - lit), false) != 0 || add_piece(p, name, nlen, true) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		c = n + 1;
		lit = n + 2;
	}
	if (add_piece(p, lit, (size_t)(end - lit), false) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Returns the section a line like "[text]" opens, or -1. */
static int section_of(const char *line, size_t len)
{
	if (len && line[len - 1] == '\r')
		len--;
	for (int i = 0; i < PART_COUNT; i++) {
		size_t n = strlen(part_names[i]);
		if (len == n + 2 && line[0] == '[' && memcmp(line + 1, part_names[i], n) == 0 && line[n + 1] == ']')
			return i;
	}
	return -1;
}

/* Trims blank lines (and a CR before each newline) around a section body. */
static void trim_section(const char **s, size_t *len)
{
	while (*len && ((*s)[0] == '\n' || (*s)[0] == '\r')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == '\n' || (*s)[*len - 1] == '\r' || (*s)[*len - 1] == ' '))
		(*len)--;
}

struct template *template_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct template *t = calloc(1, sizeof(*t));
	int cur = -1, cur_line = 0, line = 1;
	const char *body = NULL;

	if (!t || !(t->text = malloc(len + 1))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	if (memchr(t->text, '\0', len) || !parse_utf8_valid(t->text, len)) {
		snprintf(err, errlen, "template is not valid UTF-8 text");
		goto fail;
	}

	/* One pass over the lines: a section header closes the section before it. */
	for (const char *p = t->text, *end = t->text + len; p <= end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		int sec = section_of(p, (size_t)(eol - p));

		if (sec >= 0 || p == end) {
			if (cur >= 0) {
				size_t blen = (size_t)(p - body);
				trim_section(&body, &blen);
				if (parse_part(&t->parts[cur], body, blen, cur_line, err, errlen) != 0)
					goto fail;
			}
			if (p == end)
				break;
			if (t->parts[sec].seen) {
				snprintf(err, errlen, "line %d: section [%s] appears twice", line, part_names[sec]);
				goto fail;
			}
			t->parts[sec].seen = true;
			cur = sec;
			cur_line = line + 1;
			body = nl ? nl + 1 : end;
		} else if (cur < 0 && eol > p && p[0] != '#' && !(eol - p == 1 && p[0] == '\r')) {
			snprintf(err, errlen, "line %d: text before the first section (comments start with #)", line);
			goto fail;
		}
		p = nl ? nl + 1 : end;
	}
	for (int i = 0; i < PART_COUNT; i++) {
		if (!t->parts[i].seen) {
			snprintf(err, errlen, "section [%s] is missing", part_names[i]);
			goto fail;
		}
	}
	const struct part *subj = &t->parts[PART_SUBJECT];
	if (subj->n == 0) {
		snprintf(err, errlen, "the subject is empty");
		goto fail;
	}
	for (size_t i = 0; i < subj->n; i++) {
		if (!subj->pieces[i].is_var && memchr(subj->pieces[i].s, '\n', subj->pieces[i].len)) {
			snprintf(err, errlen, "the subject must be one line");
			goto fail;
		}
	}
	return t;
fail:
	template_free(t);
	return NULL;
}

void template_free(struct template *t)
{
	if (!t)
		return;
	for (int i = 0; i < PART_COUNT; i++)
		free(t->parts[i].pieces);
	free(t->text);
	free(t);
}

static void html_escape(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '&': buf_puts(b, "&amp;"); break;
		case '<': buf_puts(b, "&lt;"); break;
		case '>': buf_puts(b, "&gt;"); break;
		case '"': buf_puts(b, "&quot;"); break;
		case '\'': buf_puts(b, "&#39;"); break;
		default: buf_putc(b, s[i]);
		}
	}
}

/* Finds the value of placeholder `name` in `data`; on failure writes why into err. */
static bool lookup(struct json_object *data, const struct piece *pc, const char *part, char *tmp, size_t tmplen,
		   const char **val, size_t *vlen, char *err, size_t errlen)
{
	char key[NAME_MAX_LEN + 1];
	struct json_object *v;

	memcpy(key, pc->s, pc->len);
	key[pc->len] = '\0';
	if (!json_object_is_type(data, json_type_object) || !json_object_object_get_ex(data, key, &v) ||
	    json_object_is_type(v, json_type_null)) {
		snprintf(err, errlen, "missing placeholder {{%s}} in the %s (no data.%s)", key, part, key);
		return false;
	}
	if (json_object_is_type(v, json_type_int)) {
		snprintf(tmp, tmplen, "%" PRId64, json_object_get_int64(v));
		*val = tmp;
		*vlen = strlen(tmp);
		return true;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "placeholder {{%s}} in the %s: data.%s is not a string or an integer", key, part,
			 key);
		return false;
	}
	*val = json_object_get_string(v);
	*vlen = (size_t)json_object_get_string_len(v);
	size_t i = 0;
	while (i < *vlen && ((*val)[i] == ' ' || (*val)[i] == '\t' || (*val)[i] == '\r' || (*val)[i] == '\n'))
		i++;
	if (i == *vlen) {
		snprintf(err, errlen, "placeholder {{%s}} in the %s: data.%s is empty", key, part, key);
		return false;
	}
	return true;
}

static char *render_part(const struct part *p, struct json_object *data, enum part_id id, size_t *len, char *err,
			 size_t errlen)
{
	struct buf b = {0};
	char tmp[32];

	for (size_t i = 0; i < p->n; i++) {
		const struct piece *pc = &p->pieces[i];
		const char *val;
		size_t vlen;

		if (!pc->is_var) {
			buf_append(&b, pc->s, pc->len);
			continue;
		}
		if (!lookup(data, pc, part_names[id], tmp, sizeof(tmp), &val, &vlen, err, errlen)) {
			buf_free(&b);
			return NULL;
		}
		if (id == PART_HTML)
			html_escape(&b, val, vlen);
		else
			buf_append(&b, val, vlen);
	}
	char *out = buf_take(&b, len);
	if (!out)
		snprintf(err, errlen, "out of memory");
	return out;
}

int template_render(const struct template *t, struct json_object *data, struct template_out *out, char *err,
		    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!(out->subject = render_part(&t->parts[PART_SUBJECT], data, PART_SUBJECT, NULL, err, errlen)) ||
	    !(out->text = render_part(&t->parts[PART_TEXT], data, PART_TEXT, &out->text_len, err, errlen)) ||
	    !(out->html = render_part(&t->parts[PART_HTML], data, PART_HTML, &out->html_len, err, errlen))) {
		template_out_free(out);
		return -1;
	}
	return 0;
}

void template_out_free(struct template_out *out)
{
	if (!out)
		return;
	free(out->subject);
	free(out->text);
	free(out->html);
	memset(out, 0, sizeof(*out));
}

/* Reads a whole (small) file; returns malloc'd bytes or NULL with errno set. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = {0};
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len <= FILE_MAX)
		buf_append(&b, chunk, n);
	int bad = ferror(f) || b.len > FILE_MAX;
	fclose(f);
	if (bad) {
		buf_free(&b);
		errno = EFBIG;
		return NULL;
	}
	char *out = buf_take(&b, len);
	if (!out)
		errno = ENOMEM;
	return out;
}

struct template_set *template_set_load(const char *dir, const char *const *types, char *err, size_t errlen)
{
	struct template_set *s = calloc(1, sizeof(*s));
	char path[4096], why[256];
	size_t n = 0;

	while (types[n])
		n++;
	if (!s || !(s->t = calloc(n ? n : 1, sizeof(*s->t)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->types = types;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		snprintf(path, sizeof(path), "%s/%s.tmpl", dir, types[i]);
		char *text = read_file(path, &len);
		if (!text) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		s->t[i] = template_parse(text, len, why, sizeof(why));
		free(text);
		s->n = i + 1;
		if (!s->t[i]) {
			snprintf(err, errlen, "%s: %s", path, why);
			goto fail;
		}
	}
	return s;
fail:
	template_set_free(s);
	return NULL;
}

const struct template *template_set_get(const struct template_set *s, const char *type)
{
	for (size_t i = 0; s && type && i < s->n; i++)
		if (strcmp(s->types[i], type) == 0)
			return s->t[i];
	return NULL;
}

void template_set_free(struct template_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		template_free(s->t[i]);
	free(s->t);
	free(s);
}
