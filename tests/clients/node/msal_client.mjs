// @azure/msal-node, unmodified, against the emulator's authority over HTTPS (run by tests/clients/test_msal.py):
// a client-credentials token and a username/password token, each calling CCaaS_CreateProactiveVoiceDelivery.
// The CA is trusted through NODE_EXTRA_CA_CERTS, as a user would. Prints one JSON object.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfidentialClientApplication, PublicClientApplication } from "@azure/msal-node";

const origin = process.env.CCAAS_SERVER_URL; // https://127.0.0.1:<port>
const tenant = process.env.CCAAS_TENANT_ID;
const authority = `${origin}/${tenant}`;
const knownAuthorities = [new URL(origin).host];
const body = readFileSync(join(process.env.CCAAS_FIXTURES, "000_voice_sample.json"));

async function callVoice(token) {
  const response = await fetch(`${origin}/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body,
  });
  return { status: response.status, body: await response.json() };
}

async function whoAmI(token) {
  const response = await fetch(`${origin}/api/data/v9.2/WhoAmI`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

const report = {};
const confidential = new ConfidentialClientApplication({
  auth: { clientId: process.env.CCAAS_CLIENT_ID, clientSecret: process.env.CCAAS_CLIENT_SECRET, authority, knownAuthorities },
});
const app = await confidential.acquireTokenByClientCredential({ scopes: [`${origin}/.default`] });
report.app = { voice: await callVoice(app.accessToken), whoAmI: await whoAmI(app.accessToken) };

try {
  await new ConfidentialClientApplication({
    auth: { clientId: process.env.CCAAS_CLIENT_ID, clientSecret: "wrong", authority, knownAuthorities },
  }).acquireTokenByClientCredential({ scopes: [`${origin}/.default`] });
  report.wrongSecret = "accepted";
} catch (error) {
  report.wrongSecret = { errorCode: error.errorCode, subError: error.subError, errorMessage: error.errorMessage };
}

const publicClient = new PublicClientApplication({
  auth: { clientId: "51f81489-12ee-4a9e-aaae-a2591f45987d", authority, knownAuthorities },
});
const agent = await publicClient.acquireTokenByUsernamePassword({
  scopes: [`${origin}/user_impersonation`],
  username: "agent",
  password: process.env.CCAAS_DEMO_PASSWORD,
});
report.agent = { voice: await callVoice(agent.accessToken), whoAmI: await whoAmI(agent.accessToken) };
console.log(JSON.stringify(report));
