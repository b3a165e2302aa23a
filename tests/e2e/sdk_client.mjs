// End-to-end client built on the TypeScript SDK (@modelcontextprotocol/client), driven by test_sdk_client.py.
//
//   node sdk_client.mjs MODULES_DIR PLAN_JSON
//
// MODULES_DIR is the npm prefix the test installed the SDK into; PLAN_JSON says where to connect (an HTTP
// URL and token, or a `stdio` command such as Claude Desktop's mcp-remote bridge), in which protocol era, and
// which app and snapshots to act on (no `elicitSnapshot`: skip the elicitation client). The script does what a user's agent would do and
// prints one JSON report on stdout; the Python test decides what is right. Any failure exits non-zero with
// the error on stderr.
import { createRequire } from "node:module";
import { join } from "node:path";

const [modules, planText] = process.argv.slice(2);
const require = createRequire(join(modules, "package.json"));
const { Client, StreamableHTTPClientTransport } = require("@modelcontextprotocol/client");
const { StdioClientTransport } = require("@modelcontextprotocol/client/stdio");
const plan = JSON.parse(planText);

async function connect({ elicitation }) {
  const options = {
    versionNegotiation: { mode: plan.era === "modern" ? { pin: "2026-07-28" } : "legacy" },
    capabilities: elicitation ? { elicitation: { form: {} } } : {},
  };
  const client = new Client({ name: "truenas-mcp-e2e-sdk", version: "1.0.0" }, options);
  const asked = [];
  if (elicitation) {
    // The user says yes: confirm exactly the field the server's form asks for.
    client.setRequestHandler("elicitation/create", async (request) => {
      asked.push(request.params.message);
      return { action: "accept", content: { confirm: true } };
    });
  }
  const transport = plan.stdio
    ? new StdioClientTransport({ ...plan.stdio, env: { ...process.env, ...plan.stdio.env }, stderr: "inherit" })
    : new StreamableHTTPClientTransport(new URL(plan.url), {
        requestInit: { headers: { Authorization: `Bearer ${plan.token}` } },
      });
  // Progress notifications as they arrive, in wire order. The SDK runs notification handlers a microtask
  // later but settles a response at once, forgetting the request's `onprogress`: a notification read in
  // the same chunk as the response (as a stdio bridge delivers them under load) never reaches `onprogress`
  // although the server sent it first. `connect` chains this handler before its own.
  const progress = [];
  transport.onmessage = (message) => {
    if (message.method === "notifications/progress") progress.push(message.params);
  };
  await client.connect(transport);
  return { client, asked, progress };
}

function structured(result) {
  return { isError: result.isError ?? false, structured: result.structuredContent ?? null, text: textOf(result) };
}

function textOf(result) {
  return (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

async function listAll(client) {
  const names = [];
  let cursor;
  do {
    const page = await client.listTools(cursor ? { cursor } : undefined);
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor);
  return names;
}

async function snapshotIds(client, id) {
  const rows = await client.callTool({ name: "zfs_snapshot_query", arguments: { filters: [["id", "=", id]] } });
  return (rows.structuredContent?.result ?? []).map((row) => row.id);
}

const report = { era: plan.era };
const { client, progress: notified } = await connect({ elicitation: false });
report.protocolVersion = client.getNegotiatedProtocolVersion?.() ?? null;
report.tools = await listAll(client);
report.read = structured(await client.callTool({ name: "system_info", arguments: {} }));

// Asking for progress gives the call a progress token; what the server sent for it is read off the wire
// (every notification before the response has been seen once the call resolves).
const before = notified.length;
report.job = structured(
  await client.callTool(
    { name: "app_stop", arguments: { app_name: plan.app } },
    { onprogress: () => {}, resetTimeoutOnProgress: true },
  ),
);
report.jobProgress = notified.slice(before).map(({ progress, total, message }) => ({ progress, total, message }));
const apps = await client.callTool({ name: "app_query", arguments: { filters: [["name", "=", plan.app]] } });
report.appState = apps.structuredContent?.result?.[0]?.state ?? null;

// Two steps (a client without elicitation): a preview with a token, then the same call with the token.
const destroy = { name: "zfs_snapshot_delete", arguments: { id: plan.twoStepSnapshot } };
const preview = await client.callTool({ name: "call_tool", arguments: destroy });
report.preview = structured(preview);
report.afterPreview = await snapshotIds(client, plan.twoStepSnapshot);
const token = preview.structuredContent?.confirmation?.confirmation_token;
const confirmed = { ...destroy, arguments: { ...destroy.arguments, confirmation_token: token } };
report.confirmed = structured(await client.callTool({ name: "call_tool", arguments: confirmed }));
report.afterConfirm = await snapshotIds(client, plan.twoStepSnapshot);
await client.close();

// A client that declared elicitation is asked in the middle of the call (2025-11-25: a server request on
// the stream; 2026-07-28: an input-required result the SDK answers through the same handler and retries).
if (plan.elicitSnapshot) {
  const eliciting = await connect({ elicitation: true });
  const asked = { name: "zfs_snapshot_delete", arguments: { id: plan.elicitSnapshot } };
  report.elicited = structured(await eliciting.client.callTool({ name: "call_tool", arguments: asked }));
  report.elicitations = eliciting.asked;
  report.afterElicit = await snapshotIds(eliciting.client, plan.elicitSnapshot);
  await eliciting.client.close();
}

process.stdout.write(JSON.stringify(report) + "\n");
