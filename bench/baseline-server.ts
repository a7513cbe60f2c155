import { bodyParser } from "@koa/bodyparser";
import Koa from "koa";

/**
 * The bench's baseline: a bare Koa app with the body parser the service's admin API uses.
 * It parses the JSON body and responds 200, and does nothing else: no auth, no store, no log.
 */
const app = new Koa();
app.use(bodyParser({ enableTypes: ["json"], jsonLimit: "10mb" }));
app.use((ctx) => {
  if (ctx.method === "POST" && ctx.path === "/webhooks/bbot") {
    const body = ctx.request.body as { order?: { id?: string } } | undefined;
    ctx.body = { outcome: "parsed", orderId: body?.order?.id ?? null };
    return;
  }
  ctx.body = { status: "ok" };
});

const port = Number(process.env.PORT ?? "0");
app.listen(port, "127.0.0.1");
