/* fuzz_job.c: libFuzzer target for what the worker takes from outside: a job document off the
 * stream (validated, rendered into a template, assembled as MIME) and template text itself. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <stdlib.h>

#include "jobs.h"
#include "mime.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char tmpl[] = "[subject]\nHello {{name}} #{{order_id}}\n[text]\nHi {{name}}, total {{total}}.\n"
			   "[html]\n<p>Hi {{name}}, total {{total}}.</p>\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], why[128];

	/* The bytes as template text. */
	struct template *t = template_parse((const char *)data, size, err, sizeof(err));
	template_free(t);

	/* The bytes as a job document. */
	struct json_tokener *tok = json_tokener_new();
	struct json_object *job = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (job && jobs_valid(job, why, sizeof(why))) {
		struct template *fixed = template_parse(tmpl, sizeof(tmpl) - 1, err, sizeof(err));
		struct template_out out;
		if (fixed && template_render(fixed, json_object_object_get(job, "data"), &out, err, sizeof(err)) == 0) {
			char addr[MIME_ADDR_MAX + 1];
			char *from = mime_from_header("Store <store@example.com>", addr);
			struct mime_message m = {.from_header = from,
						 .from_addr = addr,
						 .to = json_object_get_string(json_object_object_get(job, "recipient")),
						 .subject = out.subject,
						 .text = out.text,
						 .html = out.html,
						 .text_len = out.text_len,
						 .html_len = out.html_len,
						 .id = json_object_get_string(json_object_object_get(job, "id")),
						 .date = 0};
			size_t len;
			free(mime_build(&m, &len));
			free(from);
			template_out_free(&out);
		}
		template_free(fixed);
	}
	json_object_put(job);
	return 0;
}
