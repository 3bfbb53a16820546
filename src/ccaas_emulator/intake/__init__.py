"""The intake actions: CCaaS_CreateProactiveVoiceDelivery and CCaaS_CreateProactiveDelivery."""
