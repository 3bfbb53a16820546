// Drives the emulator with DynamicsWebApi 2.x exactly as a Dataverse user would, and prints one JSON
// object with what every call returned. Run by tests/clients/test_dynamics_web_api.py.
//
// Environment:
//   CCAAS_SERVER_URL   the emulator's org URL, e.g. http://127.0.0.1:8123/
//   CCAAS_AGENT_TOKEN  a token of an Omnichannel agent (actions and reads)
//   CCAAS_ADMIN_TOKEN  a token of a System Administrator (configuration writes)
//   CCAAS_FIXTURES     the folder holding the reference samples (000_voice_sample.json, 001_voice_sample.json)
//   CCAAS_PAGED        how many voice deliveries to create and page through (default 7)
//   CCAAS_PAGE_SIZE    odata.maxpagesize for the paged reads (default 3)
//
// A call that throws is recorded under "errors" (name -> status, code, message) and the script goes on, so
// one failure does not hide the others. The exit code is 0 unless the script itself breaks.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DynamicsWebApi } from "dynamics-web-api";
import { reporter } from "./report.mjs";

const env = (name, fallback) => {
    const value = process.env[name] ?? fallback;
    if (value === undefined) throw new Error(`${name} is not set`);
    return value;
};

const serverUrl = env("CCAAS_SERVER_URL");
const agentToken = env("CCAAS_AGENT_TOKEN");
const adminToken = env("CCAAS_ADMIN_TOKEN");
const fixtures = env("CCAAS_FIXTURES");
const paged = Number(env("CCAAS_PAGED", "7"));
const pageSize = Number(env("CCAAS_PAGE_SIZE", "3"));

const DELIVERIES = "msdyn_proactive_deliveries";
const ATTRIBUTES = "msdyn_proactive_delivery_attributes";
const CONFIGS = "msdyn_proactive_engagement_configs";
const DELIVERY_ATTRIBUTES = "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery";
const VOICE_CONFIG = "cbbac510-3e66-ef11-a671-6045bd03d9d8";
const CONTACT = "761e062f-c734-ef11-8e4f-00224808a166";
// The paged deliveries all go to numbers with this prefix; their window opens tomorrow, so an embedded
// dialer leaves them Pending while the script reads them.
const PREFIX = "+1425555030";

const agent = new DynamicsWebApi({
    serverUrl,
    dataApi: { version: "9.2" },
    onTokenRefresh: async () => agentToken,
    timeout: 15000,
});
const admin = new DynamicsWebApi({
    serverUrl,
    dataApi: { version: "9.2" },
    onTokenRefresh: async () => adminToken,
    timeout: 15000,
});

const { results, errors, step } = reporter();

const sample = (name) => JSON.parse(readFileSync(join(fixtures, name), "utf8"));

// --- actions ----------------------------------------------------------------------------------------------

await step("voiceAction", () =>
    agent.callAction({ actionName: "CCaaS_CreateProactiveVoiceDelivery", action: sample("000_voice_sample.json") }),
);
await step("deliveryAction", () =>
    agent.callAction({ actionName: "CCaaS_CreateProactiveDelivery", action: sample("001_voice_sample.json") }),
);

const hour = 3600 * 1000;
const opens = new Date(Math.ceil(Date.now() / hour) * hour + 24 * hour);
const window = { Start: opens.toISOString(), End: new Date(opens.getTime() + 6 * hour).toISOString() };
const created = [];
for (let i = 0; i < paged; i++) {
    const number = `${PREFIX}${i}`;
    const response = await step(`pagedAction${i}`, () =>
        agent.callAction({
            actionName: "CCaaS_CreateProactiveVoiceDelivery",
            action: {
                ApiVersion: "1.0",
                ProactiveEngagementConfigId: VOICE_CONFIG,
                DestinationPhoneNumber: number,
                ContactId: CONTACT,
                Windows: [window],
                InputAttributes: { orderNumber: `ORD-DWA-${i}`, position: String(i) },
            },
        }),
    );
    created.push({ number, id: response?.DeliveryId ?? null });
}
results.created = created;

// --- reads ------------------------------------------------------------------------------------------------

const filter = `msdyn_status eq 'Pending' and startswith(msdyn_to_address,'${PREFIX}')`;
const select = ["msdyn_proactive_deliveryid", "msdyn_to_address", "msdyn_status", "msdyn_channel"];

// retrieveMultiple page by page, following @odata.nextLink by hand.
await step("pages", async () => {
    const request = { collection: DELIVERIES, select, filter, orderBy: ["msdyn_to_address desc"], maxPageSize: pageSize };
    const pages = [];
    let link;
    do {
        const page = await agent.retrieveMultiple(request, link);
        pages.push({ context: page.oDataContext ?? null, nextLink: page.oDataNextLink ?? null, value: page.value });
        link = page.oDataNextLink;
    } while (link && pages.length < 20);
    return pages;
});

// retrieveAll: the library follows the links itself.
await step("all", async () => {
    const all = await agent.retrieveAll({ collection: DELIVERIES, select, filter, maxPageSize: pageSize });
    return all.value;
});

// $expand of the collection navigation, with a nested $select and $orderby.
await step("expanded", async () => {
    const response = await agent.retrieveMultiple({
        collection: DELIVERIES,
        select: ["msdyn_to_address"],
        filter,
        orderBy: ["msdyn_to_address"],
        expand: [{ property: DELIVERY_ATTRIBUTES, select: ["msdyn_keyword", "msdyn_value"], orderBy: ["msdyn_keyword"] }],
    });
    return { context: response.oDataContext ?? null, value: response.value };
});

// $count=true with a filter (count) and /$count (count without a filter) and $top.
await step("countFiltered", () => agent.count({ collection: DELIVERIES, filter }));
await step("countAll", () => agent.count({ collection: DELIVERIES }));
await step("top", async () => {
    const response = await agent.retrieveMultiple({ collection: DELIVERIES, select, filter, orderBy: ["msdyn_to_address"], top: 2 });
    return response.value;
});

// retrieve one delivery by key, then its attributes through the navigation property, then an attribute
// with its single-valued navigation back to the delivery expanded.
const first = created.find((entry) => entry.id);
if (first) {
    await step("retrieve", () =>
        agent.retrieve({ collection: DELIVERIES, key: first.id, select: ["msdyn_to_address", "msdyn_status", "versionnumber"] }),
    );
    const attributes = await step("retrieveNavigation", async () => {
        const response = await agent.retrieve({
            collection: DELIVERIES,
            key: first.id,
            navigationProperty: DELIVERY_ATTRIBUTES,
            select: ["msdyn_keyword", "msdyn_value"],
        });
        return response.value;
    });
    const attributeId = attributes?.[0]?.msdyn_proactive_delivery_attributeid;
    if (attributeId) {
        await step("attributeWithDelivery", () =>
            agent.retrieve({
                collection: ATTRIBUTES,
                key: attributeId,
                select: ["msdyn_keyword", "_msdyn_proactive_delivery_value"],
                expand: [{ property: "msdyn_proactive_delivery", select: ["msdyn_to_address"] }],
            }),
        );
    }
}

await step("metadata", async () => {
    const csdl = await agent.retrieveCsdlMetadata();
    return { length: csdl.length, hasDeliveryType: csdl.includes('<EntityType Name="msdyn_proactive_delivery"') };
});

// --- configuration writes (System Administrator) ----------------------------------------------------------

const configId = await step("create", () =>
    admin.create({
        collection: CONFIGS,
        data: { msdyn_name: "DynamicsWebApi configuration", msdyn_description: "created by DynamicsWebApi", msdyn_priority: 2 },
    }),
);
if (configId) {
    const before = await step("retrieveConfig", () =>
        admin.retrieve({ collection: CONFIGS, key: configId, select: ["msdyn_name", "msdyn_priority", "versionnumber"] }),
    );
    // update sends If-Match: * unless told otherwise; here once with the record's ETag, once with a stale one.
    await step("update", () =>
        admin.update({ collection: CONFIGS, key: configId, data: { msdyn_name: "renamed by DynamicsWebApi" }, ifmatch: before?.["@odata.etag"] }),
    );
    await step("updateStale", () =>
        admin.update({ collection: CONFIGS, key: configId, data: { msdyn_priority: 1 }, ifmatch: before?.["@odata.etag"] }),
    );
    await step("updateReturning", () =>
        admin.update({
            collection: CONFIGS,
            key: configId,
            data: { msdyn_description: "returned by DynamicsWebApi" },
            returnRepresentation: true,
            select: ["msdyn_name", "msdyn_description", "msdyn_priority", "versionnumber"],
        }),
    );
    await step("createReturning", () =>
        admin.create({
            collection: CONFIGS,
            data: { msdyn_name: "DynamicsWebApi representation" },
            returnRepresentation: true,
            select: ["msdyn_proactive_engagement_configid", "msdyn_name", "versionnumber"],
        }),
    );
    await step("delete", () => admin.deleteRecord({ collection: CONFIGS, key: configId }));
    await step("retrieveDeleted", () => admin.retrieve({ collection: CONFIGS, key: configId, select: ["msdyn_name"] }));
    await step("agentCreate", () => agent.create({ collection: CONFIGS, data: { msdyn_name: "an agent may not" } }));
}

results.configId = configId ?? null;
process.stdout.write(JSON.stringify({ results, errors }) + "\n");
