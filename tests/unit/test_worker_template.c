/* test_worker_template.c: template files and rendering (worker/template.c): syntax, missing placeholders, HTML escaping. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "jobs.h"
#include "template.h"

static char err[256];

static struct template *parse(const char *text)
{
	err[0] = '\0';
	return template_parse(text, strlen(text), err, sizeof(err));
}

static void refuse(const char *text, const char *why)
{
	struct template *t = parse(text);
	cr_assert_null(t, "accepted: %s", text);
	cr_assert_not_null(strstr(err, why), "error \"%s\" does not say \"%s\"", err, why);
	cr_assert_null(strchr(err, '\n'));
}

static struct json_object *data1(const char *key, const char *val)
{
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, key, json_object_new_string(val));
	return d;
}

/* Parses `text` and renders it with {key: val} (a string), asserting both work; returns the
 * template (free with template_free) and fills `out` (free with template_out_free). */
static struct template *render_ok(const char *text, const char *key, const char *val, struct template_out *out)
{
	struct template *t = parse(text);
	cr_assert_not_null(t, "%s", err);
	struct json_object *d = data1(key, val);
	cr_assert_eq(template_render(t, d, out, err, sizeof(err)), 0, "%s", err);
	json_object_put(d);
	return t;
}

static void done(struct template *t, struct template_out *out)
{
	template_out_free(out);
	template_free(t);
}

#define SIMPLE "[subject]\nHi {{name}}\n[text]\nHello {{name}}!\n[html]\n<p>Hello {{name}}!</p>\n"

/* --- syntax: edge cases first ------------------------------------------------ */

Test(template, empty_file_is_refused)
{
	refuse("", "missing");
}

Test(template, each_section_is_required)
{
	refuse("[subject]\nS\n[text]\nT\n", "[html] is missing");
	refuse("[subject]\nS\n[html]\nH\n", "[text] is missing");
	refuse("[text]\nT\n[html]\nH\n", "[subject] is missing");
}

Test(template, a_section_twice_is_refused)
{
	refuse("[subject]\nS\n[text]\nT\n[html]\nH\n[text]\nU\n", "appears twice");
}

Test(template, subject_must_be_one_nonempty_line)
{
	refuse("[subject]\nS\nmore\n[text]\nT\n[html]\nH\n", "one line");
	refuse("[subject]\n\n[text]\nT\n[html]\nH\n", "subject is empty");
}

Test(template, text_before_first_section_must_be_a_comment)
{
	refuse("stray\n[subject]\nS\n[text]\nT\n[html]\nH\n", "before the first section");
	struct template *t = parse("# a comment\n\n# another\n" SIMPLE);
	cr_assert_not_null(t, "%s", err);
	template_free(t);
}

Test(template, bad_placeholders_fail_at_load_with_line_number)
{
	refuse("[subject]\nS\n[text]\nok\nHello {{name}\n[html]\nH\n", "line 5");
	refuse("[subject]\nS\n[text]\n{{}}\n[html]\nH\n", "placeholder");
	refuse("[subject]\nS\n[text]\n{{a-b}}\n[html]\nH\n", "placeholder");
	refuse("[subject]\nS\n[text]\n{{a\n[html]\nH\n", "placeholder");
	char longname[200];
	snprintf(longname, sizeof(longname), "[subject]\nS\n[text]\n{{%065d}}\n[html]\nH\n", 0);
	refuse(longname, "placeholder");
}

Test(template, invalid_utf8_and_nul_are_refused)
{
	refuse("[subject]\n\xc3\x28\n[text]\nT\n[html]\nH\n", "UTF-8");
	static const char with_nul[] = "[subject]\nS\0\n[text]\nT\n[html]\nH\n";
	struct template *t = template_parse(with_nul, sizeof(with_nul) - 1, err, sizeof(err));
	cr_assert_null(t);
}

Test(template, crlf_files_are_accepted)
{
	struct template_out out;
	struct template *t =
		render_ok("[subject]\r\nHi {{name}}\r\n[text]\r\nHello\r\n[html]\r\n<p>x</p>\r\n", "name", "Ada", &out);
	cr_assert_str_eq(out.subject, "Hi Ada");
	cr_assert_str_eq(out.text, "Hello");
	done(t, &out);
}

/* --- rendering ------------------------------------------------------------- */

Test(template, fills_every_part)
{
	struct template_out out;
	struct template *t = render_ok(SIMPLE, "name", "Ada", &out);
	cr_assert_str_eq(out.subject, "Hi Ada");
	cr_assert_str_eq(out.text, "Hello Ada!");
	cr_assert_eq(out.text_len, strlen("Hello Ada!"));
	cr_assert_str_eq(out.html, "<p>Hello Ada!</p>");
	cr_assert_eq(out.html_len, strlen("<p>Hello Ada!</p>"));
	done(t, &out);
}

Test(template, spaces_inside_braces_and_integers)
{
	struct template *t = parse("[subject]\n{{ n }} left\n[text]\n{{n}}\n[html]\n{{  n }}\n");
	cr_assert_not_null(t, "%s", err);
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "n", json_object_new_int64(-9007199254740993LL));
	struct template_out out;
	cr_assert_eq(template_render(t, d, &out, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(out.subject, "-9007199254740993 left");
	cr_assert_str_eq(out.html, "-9007199254740993");
	template_out_free(&out);
	json_object_put(d);
	template_free(t);
}

Test(template, missing_placeholder_is_an_error_never_a_blank)
{
	struct template *t = parse(SIMPLE);
	struct template_out out;
	struct json_object *other = data1("nom", "Ada");

	memset(&out, 0x5a, sizeof(out));
	cr_assert_eq(template_render(t, other, &out, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "{{name}}"), "%s", err);
	cr_assert_null(out.subject);
	cr_assert_null(out.text);
	cr_assert_null(out.html);
	json_object_put(other);

	/* NULL data, an empty object, an empty or blank value, a null, an object, a float, a bool. */
	cr_assert_eq(template_render(t, NULL, &out, err, sizeof(err)), -1);
	struct json_object *empty = json_object_new_object();
	cr_assert_eq(template_render(t, empty, &out, err, sizeof(err)), -1);
	json_object_put(empty);
	struct json_object *bad[] = {data1("name", ""), data1("name", " \t\r\n"), json_object_new_object(),
				     json_object_new_object(), json_object_new_object(), json_object_new_object()};
	json_object_object_add(bad[2], "name", NULL);
	json_object_object_add(bad[3], "name", json_object_new_object());
	json_object_object_add(bad[4], "name", json_object_new_double(1.5));
	json_object_object_add(bad[5], "name", json_object_new_boolean(1));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(template_render(t, bad[i], &out, err, sizeof(err)), -1, "case %zu rendered", i);
		cr_assert_not_null(strstr(err, "{{name}}"), "case %zu: %s", i, err);
		json_object_put(bad[i]);
	}
	template_free(t);
}

Test(template, missing_placeholder_only_in_html_still_fails)
{
	struct template *t = parse("[subject]\nS\n[text]\nT\n[html]\n{{footer}}\n");
	struct json_object *d = json_object_new_object();
	struct template_out out;
	cr_assert_eq(template_render(t, d, &out, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "html"), "%s", err);
	json_object_put(d);
	template_free(t);
}

Test(template, html_part_escapes_values_text_part_does_not)
{
	struct template_out out;
	struct template *t = render_ok(SIMPLE, "name", "<script>alert('x')</script> & \"Bob\"", &out);
	cr_assert_str_eq(out.html, "<p>Hello &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Bob&quot;!</p>");
	cr_assert_str_eq(out.text, "Hello <script>alert('x')</script> & \"Bob\"!");
	done(t, &out);
}

Test(template, values_are_not_rescanned_for_placeholders)
{
	struct template_out out;
	struct template *t = render_ok(SIMPLE, "name", "{{name}}", &out);
	cr_assert_str_eq(out.text, "Hello {{name}}!");
	done(t, &out);
}

/* --- the shipped templates --------------------------------------------------- */

Test(template, every_job_type_has_a_shipped_template_that_renders)
{
	struct template_set *s = template_set_load(TEMPLATE_DIR, jobs_types, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	static const char *const keys[] = {"name", "order_id", "total", "amount", "product_id", "available", "threshold"};
	struct json_object *d = json_object_new_object();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_object_add(d, keys[i], json_object_new_string("V<&>"));
	for (const char *const *type = jobs_types; *type; type++) {
		const struct template *t = template_set_get(s, *type);
		struct template_out out;
		cr_assert_not_null(t, "%s", *type);
		cr_assert_eq(template_render(t, d, &out, err, sizeof(err)), 0, "%s: %s", *type, err);
		cr_assert_null(strstr(out.html, "V<&>"), "%s: unescaped value in HTML", *type);
		cr_assert_null(strstr(out.html, "{{"), "%s", *type);
		cr_assert_null(strstr(out.text, "{{"), "%s", *type);
		template_out_free(&out);
	}
	cr_assert_null(template_set_get(s, "nonsense"));
	json_object_put(d);
	template_set_free(s);
}

Test(template, a_missing_template_file_names_the_file)
{
	static const char *const types[] = {"welcome", "no_such_type", NULL};
	cr_assert_null(template_set_load(TEMPLATE_DIR, types, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "no_such_type.tmpl"), "%s", err);
}
