// DynamicsWebApi's WhoAmI (`callFunction("WhoAmI")`, as its README shows; 2.5.0 has no whoAmI() method of its own)
// for two callers: a user token and an application token from the emulator's authority. Run over HTTPS by
// tests/clients/test_dynamics_web_api.py, the emulator's CA trusted through NODE_EXTRA_CA_CERTS. Prints one JSON
// object, as dwa_client.mjs does.
//
// Environment: CCAAS_SERVER_URL (the HTTPS origin, ending in /), CCAAS_AGENT_TOKEN, CCAAS_APP_TOKEN.

import { DynamicsWebApi } from "dynamics-web-api";
import { reporter } from "./report.mjs";

const serverUrl = process.env.CCAAS_SERVER_URL;
const { results, errors, step } = reporter();

for (const [name, token] of [
    ["agent", process.env.CCAAS_AGENT_TOKEN],
    ["app", process.env.CCAAS_APP_TOKEN],
]) {
    const client = new DynamicsWebApi({
        serverUrl,
        dataApi: { version: "9.2" },
        onTokenRefresh: async () => token,
        timeout: 15000,
    });
    await step(name, () => client.callFunction("WhoAmI"));
}
await step("noToken", () =>
    new DynamicsWebApi({ serverUrl, dataApi: { version: "9.2" }, timeout: 15000 }).callFunction("WhoAmI"),
);
process.stdout.write(JSON.stringify({ results, errors }) + "\n");
