/**
 * Sends a flood of signed webhooks from a process of its own, so that the exporter's event loop (in the test's
 * process) only serves them. Prints `sent` once every request is on its way, then the answers' statuses as JSON.
 *   bun test/webhooks/flood-sender.ts URL SECRET COUNT
 */
import { signWebhook } from "../../src/webhooks/signature.ts";

const [url = "", secret = "", countText = "1000"] = process.argv.slice(2);
const count = Number(countText);
const requests = Array.from({ length: count }, (_, i) => {
  const body = JSON.stringify({
    organization: { name: "org-1", githubLogin: "org-1", avatarUrl: "" },
    projectName: "web",
    stackName: `stack-${i % 50}`,
    updateUrl: `https://app.pulumi.com/org-1/web/stack-${i % 50}/updates/${i}`,
    kind: "update",
    result: "succeeded",
    resourceChanges: { update: 1 },
    isPreview: false,
  });
  return {
    body,
    headers: {
      "Content-Type": "application/json",
      "Pulumi-Webhook-Kind": "stack_update",
      // 900 distinct IDs: the last 100 deliveries are redeliveries.
      "Pulumi-Webhook-ID": `flood-${i % 900}`,
      "Pulumi-Webhook-Signature": signWebhook(secret, body),
    },
  };
});
// The redeliveries go out after their originals have been answered, so which copy is the duplicate is fixed.
const first = requests
  .slice(0, 900)
  .map((r) => fetch(url, { method: "POST", ...r }).then((res) => res.status));
console.log("sent");
const firstStatuses = await Promise.all(first);
const again = await Promise.all(
  requests.slice(900).map((r) => fetch(url, { method: "POST", ...r }).then((res) => res.status)),
);
console.log(JSON.stringify([...firstStatuses, ...again]));
