import { buildApp } from './app.js';
import { configFromEnv } from './config.js';
import { seedDemoAccount } from './demo-account.js';

/** The process: configuration from the environment, the app, a banner, and a graceful stop. */
async function main(): Promise<void> {
  const config = configFromEnv(process.env);
  const app = await buildApp(config);
  const url = await app.listen();
  const demo = config.demo ? await seedDemoAccount(app) : undefined;

  const lines = [`botbridge listening on ${url}`];
  if (app.adminTokenCreated)
    lines.push(`admin token (shown once, kept in ${config.dataDir}/admin-token): ${app.adminToken}`);
  if (demo) {
    lines.push(
      `demo account: ${demo.accountId} (skills: ${demo.skills.join(', ')})`,
      `  agent login:      ${demo.agent.username} / ${demo.agent.password}`,
      `  Public API login: ${demo.publicApi.username} / ${demo.publicApi.password}`,
      `  demo bot:         ${demo.bot.id} (${demo.bot.status}) at ${demo.bot.baseUrl}, skill demo-bot`,
      `  consumer chat:    ${url}/chat/${demo.accountId}?skill=demo-bot`,
      `  console:          ${url}/`,
    );
  }
  // JSON logs stay one JSON object per line on stdout (whatever reads them parses every line):
  // the banner, for the person starting the server, goes to stderr then.
  (config.logFormat === 'json' ? process.stderr : process.stdout).write(`\n${lines.join('\n')}\n\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    try {
      await app.close();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(
    `botbridge failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
