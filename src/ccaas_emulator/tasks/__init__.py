"""The delivery-task APIs: CCaaS_GetDeliveryTasks, CCaaS_CancelDeliveryTask and CCaaS_CreateOperation (issue #13)."""
