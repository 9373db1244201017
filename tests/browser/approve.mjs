// Drives Debian's Chromium through one imadm approval page, for tests/e2e/passkeys.rs:
// headless, a new empty profile, a CDP virtual authenticator (ctap2, internal transport,
// resident keys). The authenticator's credentials outlive the browser in a JSON file, so
// a passkey enrolled by one run signs in the next.
//
//   node approve.mjs '{"url": "...", "action": "approve"|"passkey_only"|"deny",
//                      "state": "FILE", "username": "...", "password": "...", "uv": true,
//                      "resident": true, "via": {"/admin/approve/begin": "https://..."}}'
//
// "passkey_only" clicks "Sign in with a passkey" (nothing typed); "resident": false gives
// an authenticator that cannot store discoverable credentials. "via" sends the page's
// calls to a path to another server (its scheme, host and port), as a load balancer in
// front of several instances would (tests/e2e/database.rs).
//
// Prints one JSON line: what the page showed (its description, user code, client address)
// and how it ended (the status line's class: ok, err; and its text). Exits 0 whenever the
// page could be driven (the Rust test judges the outcome), 1 when it could not.
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const opts = JSON.parse(process.argv[2]);
const uv = opts.uv !== false;
const resident = opts.resident !== false;
const profile = mkdtempSync(join(tmpdir(), 'imadm-chromium-'));

// A new empty profile (playwright passes it as --user-data-dir).
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.IMADM_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  ignoreHTTPSErrors: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--ignore-certificate-errors',
  ],
});
let result;
try {
  const page = context.pages()[0] || await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: resident,
      hasUserVerification: uv, isUserVerified: uv, automaticPresenceSimulation: true,
    },
  });
  if (opts.state && existsSync(opts.state)) {
    for (const credential of JSON.parse(readFileSync(opts.state, 'utf8'))) {
      await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
    }
  }
  for (const [path, server] of Object.entries(opts.via || {})) {
    await page.route(url => url.pathname === path, async route => {
      const to = new URL(route.request().url());
      to.host = new URL(server).host;
      await route.fulfill({ response: await route.fetch({ url: to.toString() }) });
    });
  }
  const response = await page.goto(opts.url);
  const text = async sel => (await page.locator(sel).count()) ? (await page.locator(sel).first().textContent()) : null;
  result = {
    http_status: response.status(),
    what: await text('#what'),
    user_code: await text('#user-code'),
    client: await text('#client'),
    page_text: (await page.locator('body').innerText()).trim(),
  };
  if (result.user_code && opts.action) {
    if (opts.username !== undefined) await page.fill('#username', opts.username);
    if (opts.password !== undefined) await page.fill('#password', opts.password);
    const button = { deny: '#deny', passkey_only: '#passkey-only' }[opts.action] || '#approve';
    await page.click(button);
    const status = page.locator('#status.ok, #status.err');
    await status.waitFor({ timeout: 30000 });
    result.status_class = await status.getAttribute('class');
    result.status_text = await status.textContent();
  }
  if (opts.state) {
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    writeFileSync(opts.state, JSON.stringify(credentials));
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
