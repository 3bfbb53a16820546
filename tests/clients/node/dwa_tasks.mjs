// Reads and cancels a delivery task with DynamicsWebApi 2.x, unmodified: callAction creates the task
// (CCaaS_CreateProactiveDelivery), callFunction reads it (CCaaS_GetDeliveryTasks, on v9.0 as documented and on
// v9.2), callAction cancels it (CCaaS_CancelDeliveryTask), callFunction reads it again. Prints one JSON object.
// Run by tests/clients/test_dynamics_web_api.py.
//
// Environment: CCAAS_SERVER_URL, CCAAS_AGENT_TOKEN (see dwa_client.mjs).

import { DynamicsWebApi } from "dynamics-web-api";
import { reporter } from "./report.mjs";

const serverUrl = process.env.CCAAS_SERVER_URL;
const agentToken = process.env.CCAAS_AGENT_TOKEN;
if (!serverUrl || !agentToken) throw new Error("CCAAS_SERVER_URL and CCAAS_AGENT_TOKEN must be set");

const client = (version) =>
    new DynamicsWebApi({ serverUrl, dataApi: { version }, onTokenRefresh: async () => agentToken, timeout: 15000 });
const v92 = client("9.2");
const v90 = client("9.0");

const { results, errors, step } = reporter();

// The window opens tomorrow, so an embedded dialer leaves the first dial queued while the script works.
const hour = 3600 * 1000;
const opens = new Date(Math.ceil(Date.now() / hour) * hour + 24 * hour);
const created = await step("create", () =>
    v92.callAction({
        actionName: "CCaaS_CreateProactiveDelivery",
        action: {
            ApiVersion: "1.0",
            ProactiveEngagementConfigId: "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
            RequestId: "dwa-task-1",
            Windows: [{ Start: opens.toISOString(), End: new Date(opens.getTime() + 4 * hour).toISOString() }],
            Contacts: [
                { uniqueIdentifier: "dwa-1", firstName: "Ana", lastName: "Lima", mobilePhoneNumber: "+15550601" },
                { uniqueIdentifier: "dwa-2", firstName: "Rui", lastName: "Lima", homePhoneNumber: "+15550602" },
            ],
        },
    }),
);
const taskId = created?.DeliveryTaskId;
const read = (api) => api.callFunction({ name: "CCaaS_GetDeliveryTasks", parameters: { DeliveryTaskId: taskId } });
await step("readV90", () => read(v90));
await step("readV92", () => read(v92));
await step("cancel", () =>
    v92.callAction({ actionName: "CCaaS_CancelDeliveryTask", action: { ApiVersion: "1.0", DeliveryTaskId: taskId } }),
);
await step("readCancelled", () => read(v90));
await step("readUnknown", () =>
    v90.callFunction({
        name: "CCaaS_GetDeliveryTasks",
        parameters: { DeliveryTaskId: "00000000-0000-4000-8000-000000000000" },
    }),
);

console.log(JSON.stringify({ taskId: taskId ?? null, deliveryId: created?.DeliveryId ?? null, results, errors }));
