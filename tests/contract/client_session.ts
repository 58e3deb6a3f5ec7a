// client_session.ts: a short storefront session with the TypeScript client generated from
// docs/openapi.yaml (openapi-typescript types + openapi-fetch): register, sign in, list products,
// read one with its ETag and again with If-None-Match. Type-checked with tsc --strict and run by
// `scripts/store test` (scripts/lib/contract.sh): node client_session.js GATEWAY_URL.
import createClient from "openapi-fetch";
import type { paths, components } from "./schema.js";

// The little of Node.js used here, declared instead of pulling in @types/node.
declare const process: { argv: string[]; pid: number; exit(code: number): never };

type Product = components["schemas"]["Product"];
type Problem = components["schemas"]["Problem"];

const baseUrl = process.argv[2];
if (!baseUrl) throw new Error("usage: node client_session.js GATEWAY_URL");
const api = createClient<paths>({ baseUrl });

function fail(what: string, status: number, error?: Problem | unknown): never {
  throw new Error(`${what}: ${status} ${JSON.stringify(error)}`);
}

async function main(): Promise<void> {
  const email = `ts-client-${process.pid}-${Date.now()}@example.com`;
  const password = "correct horse battery 42";

  const reg = await api.POST("/api/v1/auth/register", { body: { email, password, name: "TS Client" } });
  if (!reg.data) fail("register", reg.response.status, reg.error);
  const userId: number = reg.data.id;
  console.log(`registered ${reg.data.email} as user ${userId} (${reg.data.role})`);

  const login = await api.POST("/api/v1/auth/login", { body: { email, password } });
  if (!login.data) fail("login", login.response.status, login.error);
  const token: string = login.data.access_token;
  const auth = { Authorization: `Bearer ${token}` };

  const me = await api.GET("/api/v1/users/me", { headers: auth });
  if (!me.data || me.data.id !== userId) fail("me", me.response.status, me.error);
  console.log(`signed in; /users/me is ${me.data.email}`);

  const list = await api.GET("/api/v1/products", { params: { query: { limit: 5, sort: "price" } } });
  if (!list.data) fail("list products", list.response.status, list.error);
  console.log(`products: ${list.data.total} in all, ${list.data.items.length} listed`);

  // A product to read: the first listed, else a 404 problem typed as such.
  const first: Product | undefined = list.data.items[0];
  if (!first) {
    const none = await api.GET("/api/v1/products/{id}", { params: { path: { id: 9007199254740991 } } });
    if (none.response.status !== 404 || none.error?.code !== "not_found") fail("missing product", none.response.status, none.error);
    console.log("no product to read; an unknown id answers a typed 404 problem");
    return;
  }
  const one = await api.GET("/api/v1/products/{id}", { params: { path: { id: first.id } } });
  if (!one.data) fail("product", one.response.status, one.error);
  const etag = one.response.headers.get("ETag");
  if (!etag) throw new Error("product read without an ETag");
  console.log(`product ${one.data.id} "${one.data.name}" ${one.data.price} ${one.data.currency}, ETag ${etag}`);

  const again = await api.GET("/api/v1/products/{id}", {
    params: { path: { id: first.id }, header: { "If-None-Match": etag } },
  });
  if (again.response.status !== 304) fail("conditional read", again.response.status, again.error);
  console.log("read again with If-None-Match: 304 Not Modified");

  const out = await api.POST("/api/v1/auth/logout", { headers: auth });
  if (out.response.status !== 204) fail("logout", out.response.status, out.error);
  console.log("signed out");
}

main().catch((e: unknown) => {
  console.error(`client session failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
