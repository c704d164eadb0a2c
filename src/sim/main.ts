/** Standalone simulator: `bun src/sim/main.ts --stacks 1000 --orgs 3 --latency 50ms --tick-every 10s`. */
import { parseSimArgs, USAGE } from "./cli-args.ts";
import { startSimulator } from "./server.ts";

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseSimArgs>;
  try {
    parsed = parseSimArgs(process.argv.slice(2), Math.floor(Date.now() / 1000));
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    process.exit(2);
  }
  if (parsed.help) {
    console.log(USAGE);
    return;
  }
  const sim = await startSimulator(parsed.options);
  const { orgs } = sim.model.summary();
  console.log(`Pulumi Cloud simulator listening on ${sim.url}`);
  console.log(`token: ${sim.token}`);
  console.log(`organizations: ${orgs.map((o) => `${o.name} (${o.stacks} stacks)`).join(", ")}`);
  console.log(`try: curl -H "Authorization: token ${sim.token}" "${sim.url}/api/user/stacks?maxResults=5"`);
  const shutdown = () => {
    void sim.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

await main();
