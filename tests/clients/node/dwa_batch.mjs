// DynamicsWebApi requests that travel as OData $batch: a retrieveMultiple whose URL passes 2000
// characters (the library turns it into POST $batch by itself) and an explicit startBatch/executeBatch.
// Prints one JSON object like dwa_client.mjs. Run by tests/clients/test_dynamics_web_api.py.
//
// Environment: CCAAS_SERVER_URL, CCAAS_AGENT_TOKEN (see dwa_client.mjs).

import { DynamicsWebApi } from "dynamics-web-api";
import { reporter } from "./report.mjs";

const serverUrl = process.env.CCAAS_SERVER_URL;
const token = process.env.CCAAS_AGENT_TOKEN;
if (!serverUrl || !token) throw new Error("CCAAS_SERVER_URL and CCAAS_AGENT_TOKEN must be set");

const DELIVERIES = "msdyn_proactive_deliveries";
const PREFIX = "+1425555050";
const api = new DynamicsWebApi({ serverUrl, dataApi: { version: "9.2" }, onTokenRefresh: async () => token, timeout: 15000 });

const { results, errors, step } = reporter();

const hour = 3600 * 1000;
const opens = new Date(Math.ceil(Date.now() / hour) * hour + 24 * hour);
const Windows = [{ Start: opens.toISOString(), End: new Date(opens.getTime() + 6 * hour).toISOString() }];
const created = [];
for (let i = 0; i < 3; i++) {
    const response = await api.callAction({
        actionName: "CCaaS_CreateProactiveVoiceDelivery",
        action: {
            ApiVersion: "1.0",
            ProactiveEngagementConfigId: "cbbac510-3e66-ef11-a671-6045bd03d9d8",
            DestinationPhoneNumber: `${PREFIX}${i}`,
            ContactId: "761e062f-c734-ef11-8e4f-00224808a166",
            Windows,
        },
    });
    created.push(response.DeliveryId);
}
results.created = created;

// 80 alternatives: the URL is well past 2000 characters, so the library sends it inside a $batch.
const numbers = Array.from({ length: 80 }, (_, i) => `${PREFIX}${i}`);
const filter = numbers.map((number) => `msdyn_to_address eq '${number}'`).join(" or ");
await step("longFilter", async () => {
    const response = await api.retrieveMultiple({ collection: DELIVERIES, select: ["msdyn_to_address"], filter });
    return response.value.map((row) => row.msdyn_proactive_deliveryid);
});

await step("executeBatch", async () => {
    api.startBatch();
    api.retrieve({ collection: DELIVERIES, key: created[0], select: ["msdyn_to_address"] });
    api.count({ collection: DELIVERIES, filter: `startswith(msdyn_to_address,'${PREFIX}')` });
    const [one, count] = await api.executeBatch();
    return { id: one?.msdyn_proactive_deliveryid ?? null, count };
});

process.stdout.write(JSON.stringify({ results, errors }) + "\n");
