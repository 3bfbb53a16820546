"""The emulator's Entra-shaped authority, at the wire: discovery, token endpoints, AADSTS errors, WhoAmI and
impersonation (wire-facts E2, E5, F)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import jwt
import pytest
from sqlalchemy import select

from ccaas_emulator.auth.keys import LoadedKey, SigningKeys, _generate
from ccaas_emulator.auth.tokens import mint_app_token
from ccaas_emulator.db.models import ProactiveDelivery, SystemUser
from ccaas_emulator.organization import organization_id, root_business_unit_id
from tests.support.demo import ORG_URL
from tests.support.samples import fixture_bytes
from tests.support.tokens import bearer

DEMO_CLIENT_ID = "c0a5e000-de70-4000-8000-0000000dea00"
DEMO_SECRET = "ccaas~demo~secret~not.for.production"
DEMO_PASSWORD = "ccaas-demo-password"
PUBLIC_CLIENT = "51f81489-12ee-4a9e-aaae-a2591f45987d"
VOICE = "/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def token_url(settings, version=2):
    return f"/{settings.tenant}/oauth2/v2.0/token" if version == 2 else f"/{settings.tenant}/oauth2/token"


def app_token(client, settings, **form):
    data = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_SECRET}
    data["scope"] = f"{ORG_URL}/.default"
    return client.post(token_url(settings), data={**data, **form}, headers=FORM)


def user_token(client, settings, user="agent", password=DEMO_PASSWORD, **form):
    data = {"grant_type": "password", "client_id": PUBLIC_CLIENT, "username": user, "password": password}
    data["scope"] = f"{ORG_URL}/user_impersonation offline_access openid profile"
    return client.post(token_url(settings), data={**data, **form}, headers=FORM)


def claims_of(token):
    return jwt.api_jws.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def assert_entra_error(response, status, error, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert body["error_codes"] == [code]
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()
    assert response.headers["cache-control"] == "no-store, no-cache"


def test_discovery_names_this_servers_own_endpoints(client, settings):
    response = client.get(f"/{settings.tenant}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200
    body = response.json()
    assert body["token_endpoint"] == f"{ORG_URL}/{settings.tenant}/oauth2/v2.0/token"
    assert body["jwks_uri"] == f"{ORG_URL}/{settings.tenant}/discovery/v2.0/keys"
    assert body["issuer"] == f"https://login.microsoftonline.com/{settings.tenant}/v2.0"
    v1 = client.get(f"/{settings.tenant}/.well-known/openid-configuration").json()
    assert v1["token_endpoint"] == f"{ORG_URL}/{settings.tenant}/oauth2/token"
    assert v1["issuer"] == f"https://sts.windows.net/{settings.tenant}/"
    organizations = client.get("/organizations/v2.0/.well-known/openid-configuration").json()
    assert organizations["issuer"] == "https://login.microsoftonline.com/{tenantid}/v2.0"


def test_an_unknown_tenant_is_aadsts90002(client):
    response = client.get(f"/{uuid.uuid4()}/v2.0/.well-known/openid-configuration")
    assert_entra_error(response, 400, "invalid_tenant", 90002)


def test_client_credentials_token_is_an_app_only_v1_dataverse_token(client, settings):
    response = app_token(client, settings)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == f"{ORG_URL}/.default"
    assert body["expires_in"] == settings.token_lifetime_seconds
    header, claims = claims_of(body["access_token"])
    assert header["alg"] == "RS256" and header["kid"] == header["x5t"]
    assert claims["aud"] == ORG_URL.lower()
    assert claims["iss"] == f"https://sts.windows.net/{settings.tenant}/"
    assert claims["tid"] == settings.tenant and claims["ver"] == "1.0"
    assert claims["appid"] == DEMO_CLIENT_ID and claims["appidacr"] == "1" and claims["idtyp"] == "app"
    assert claims["sub"] == claims["oid"]
    assert "scp" not in claims and "roles" not in claims


def test_an_application_user_calls_the_voice_action_and_whoami(client, settings, database):
    token = app_token(client, settings).json()["access_token"]
    posted = client.post(VOICE, content=fixture_bytes("000_voice_sample.json"), headers=bearer(token))
    assert posted.status_code == 200, posted.text
    who = client.get("/api/data/v9.2/WhoAmI", headers=bearer(token))
    assert who.status_code == 200, who.text
    with database.read() as session:
        app_user = session.scalars(select(SystemUser).where(SystemUser.user_name == "ccaas-demo-app")).one()
        assert str(app_user.application_id) == DEMO_CLIENT_ID
        user_id = app_user.id
    assert who.json() == {
        "@odata.context": f"{ORG_URL}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
        "BusinessUnitId": str(root_business_unit_id(settings.tenant_id)),
        "UserId": str(user_id),
        "OrganizationId": str(organization_id(settings.tenant_id)),
    }
    assert client.get("/api/data/v9.0/WhoAmI()", headers=bearer(token)).json()["UserId"] == str(user_id)


def test_whoami_is_declared_in_metadata(client, agent_headers):
    metadata = client.get("/api/data/v9.2/$metadata", headers=agent_headers).text
    assert '<ComplexType Name="WhoAmIResponse">' in metadata
    assert '<FunctionImport Name="WhoAmI" Function="Microsoft.Dynamics.CRM.WhoAmI"' in metadata


def test_a_wrong_secret_is_invalid_client_7000215(client, settings):
    assert_entra_error(app_token(client, settings, client_secret="wrong"), 401, "invalid_client", 7000215)


def test_an_unknown_client_is_unauthorized_client_700016(client, settings):
    response = app_token(client, settings, client_id=str(uuid.uuid4()))
    assert_entra_error(response, 400, "unauthorized_client", 700016)


def test_client_credentials_need_the_default_scope(client, settings):
    response = app_token(client, settings, scope=f"{ORG_URL}/user_impersonation")
    assert_entra_error(response, 400, "invalid_scope", 1002012)


def test_a_resource_other_than_the_organization_is_aadsts500011(client, settings):
    response = app_token(client, settings, scope="https://other.crm.dynamics.com/.default")
    assert_entra_error(response, 400, "invalid_resource", 500011)


def test_missing_parameters_and_unknown_grants(client, settings):
    assert_entra_error(client.post(token_url(settings), data={}, headers=FORM), 400, "invalid_request", 900144)
    as_json = client.post(token_url(settings), json={"grant_type": "client_credentials"})
    assert_entra_error(as_json, 400, "invalid_request", 900144)  # form-encoded bodies only, as Entra
    response = app_token(client, settings, grant_type="authorization_code")
    assert_entra_error(response, 400, "unsupported_grant_type", 70003)
    assert_entra_error(app_token(client, settings, client_secret=""), 401, "invalid_client", 7000218)
    assert_entra_error(client.get(token_url(settings)), 400, "invalid_request", 900561)


def test_the_password_grant_gives_a_user_token_and_a_working_refresh_token(client, settings):
    response = user_token(client, settings)
    assert response.status_code == 200, response.text
    body = response.json()
    _, claims = claims_of(body["access_token"])
    assert claims["scp"] == "user_impersonation" and claims["upn"] == "agent" and claims["appid"] == PUBLIC_CLIENT
    assert client.post(VOICE, content=fixture_bytes("000_voice_sample.json"), headers=bearer(body["access_token"]))
    refreshed = client.post(
        token_url(settings),
        data={
            "grant_type": "refresh_token",
            "client_id": PUBLIC_CLIENT,
            "refresh_token": body["refresh_token"],
            "scope": f"{ORG_URL}/.default offline_access",
        },
        headers=FORM,
    )
    assert refreshed.status_code == 200, refreshed.text
    assert claims_of(refreshed.json()["access_token"])[1]["oid"] == claims["oid"]
    # an access token is not a refresh token
    wrong = client.post(
        token_url(settings),
        data={"grant_type": "refresh_token", "client_id": PUBLIC_CLIENT, "refresh_token": body["access_token"]},
        headers=FORM,
    )
    assert_entra_error(wrong, 400, "invalid_grant", 9002313)


def test_a_wrong_password_is_aadsts50126_and_an_unknown_user_50034(client, settings):
    assert_entra_error(user_token(client, settings, password="nope"), 400, "invalid_grant", 50126)
    assert_entra_error(user_token(client, settings, user="nobody"), 400, "invalid_grant", 50034)


def test_the_v1_endpoint_takes_a_resource(client, settings):
    data = {"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_SECRET}
    response = client.post(token_url(settings, 1), data={**data, "resource": ORG_URL + "/"}, headers=FORM)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resource"] == ORG_URL.lower() and isinstance(body["expires_in"], str)
    assert claims_of(body["access_token"])[1]["aud"] == ORG_URL.lower()


@pytest.mark.parametrize("variant", ["another emulator's key", "another tenant", "another audience"])
def test_an_app_token_is_refused_when_one_thing_differs(client, settings, variant):
    keys = client.app.state.runtime.keys
    tenant, audience = settings.tenant, ORG_URL
    if variant == "another emulator's key":
        kid, pem = _generate()
        keys = SigningKeys([LoadedKey.from_private_pem(kid, pem)])
    elif variant == "another tenant":
        tenant = str(uuid.uuid4())
    else:
        audience = "https://other.crm.dynamics.com"
    with client.app.state.runtime.database.read() as session:
        app_user = session.scalars(select(SystemUser).where(SystemUser.user_name == "ccaas-demo-app")).one()
        object_id = app_user.object_id
    token = mint_app_token(
        keys,
        object_id=object_id,
        client_id=uuid.UUID(DEMO_CLIENT_ID),
        app_name="ccaas-demo-app",
        tenant=tenant,
        audience=audience,
        issued_at=datetime.now(UTC),
        expires_in=3600,
    )
    response = client.get("/api/data/v9.2/WhoAmI", headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer authorization_uri=")


def test_a_delegate_impersonates_by_object_id_and_writes_on_behalf(client, settings, database, tokens):
    token = app_token(client, settings).json()["access_token"]
    agent_object_id = "0a9e17d4-0000-4000-8000-0000000a9e17"
    headers = bearer(token) | {"CallerObjectId": agent_object_id}
    who = client.get("/api/data/v9.2/WhoAmI", headers=headers)
    assert who.status_code == 200, who.text
    posted = client.post(VOICE, content=fixture_bytes("000_voice_sample.json"), headers=headers)
    assert posted.status_code == 200, posted.text
    with database.read() as session:
        agent = session.scalars(select(SystemUser).where(SystemUser.user_name == "agent")).one()
        app_user = session.scalars(select(SystemUser).where(SystemUser.user_name == "ccaas-demo-app")).one()
        delivery = session.get(ProactiveDelivery, uuid.UUID(posted.json()["DeliveryId"]))
        assert delivery is not None
        assert (delivery.created_by, delivery.created_on_behalf_by) == (agent.id, app_user.id)
    assert who.json()["UserId"] == str(agent.id)
    by_user_id = client.get("/api/data/v9.2/WhoAmI", headers=bearer(token) | {"MSCRMCallerID": str(agent.id)})
    assert by_user_id.json()["UserId"] == str(agent.id)


def test_impersonation_without_the_privilege_is_0x8004a110(client, tokens):
    headers = bearer(tokens.for_user("agent")) | {"CallerObjectId": "05be7d15-0000-4000-8000-000005be7d15"}
    response = client.get("/api/data/v9.2/WhoAmI", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "0x8004A110",
        "message": "User does not have the privilege to act on behalf another user.",
    }


def test_impersonating_an_unknown_user_is_refused(client, tokens):
    admin = bearer(tokens.for_user("admin"))
    unknown = str(uuid.uuid4())
    by_object = client.get("/api/data/v9.2/WhoAmI", headers=admin | {"CallerObjectId": unknown})
    assert by_object.status_code == 403 and by_object.json()["error"]["code"] == "0x80072560"
    by_id = client.get("/api/data/v9.2/WhoAmI", headers=admin | {"MSCRMCallerID": unknown})
    assert by_id.status_code == 404 and by_id.json()["error"]["code"] == "0x80040217"
    bad = client.get("/api/data/v9.2/WhoAmI", headers=admin | {"CallerObjectId": "not-a-guid"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "0x80040203"


def test_a_disabled_user_can_neither_sign_in_nor_be_impersonated(client, settings, database, tokens):
    with database.transaction() as session:
        supervisor = session.scalars(select(SystemUser).where(SystemUser.user_name == "supervisor")).one()
        supervisor.is_disabled = True
        object_id = str(supervisor.object_id)
    assert_entra_error(user_token(client, settings, user="supervisor"), 400, "invalid_grant", 50057)
    admin = bearer(tokens.for_user("admin"))
    response = client.get("/api/data/v9.2/WhoAmI", headers=admin | {"CallerObjectId": object_id})
    assert response.status_code == 403 and response.json()["error"]["code"] == "0x8004dc01"


def test_client_secret_basic_is_accepted_and_a_bad_basic_header_refused(client, settings):
    data = {"grant_type": "client_credentials", "scope": f"{ORG_URL}/.default"}
    response = client.post(token_url(settings), data=data, headers=FORM, auth=(DEMO_CLIENT_ID, DEMO_SECRET))
    assert response.status_code == 200, response.text
    wrong = client.post(token_url(settings), data=data, headers=FORM, auth=(DEMO_CLIENT_ID, "nope"))
    assert_entra_error(wrong, 401, "invalid_client", 7000215)
    garbled = client.post(token_url(settings), data=data, headers=FORM | {"Authorization": "Basic !!!"})
    assert_entra_error(garbled, 400, "invalid_request", 9002313)


@pytest.mark.parametrize("client_authentication", ["Send as Basic Auth header", "Send client credentials in body"])
def test_what_postman_sends_gets_a_token(client, settings, client_authentication):
    """Postman's OAuth 2.0 helper, Client Credentials (README): in Basic mode it sends client_id in the body as well
    (postmanlabs/postman-app-support#4488); in body mode client_id and client_secret are form fields."""
    data = {"grant_type": "client_credentials", "scope": f"{ORG_URL}/.default", "client_id": DEMO_CLIENT_ID}
    if client_authentication == "Send as Basic Auth header":
        response = client.post(token_url(settings), data=data, headers=FORM, auth=(DEMO_CLIENT_ID, DEMO_SECRET))
    else:
        response = client.post(token_url(settings), data=data | {"client_secret": DEMO_SECRET}, headers=FORM)
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"
    who = client.get("/api/data/v9.2/WhoAmI", headers=bearer(response.json()["access_token"]))
    assert who.status_code == 200, who.text


def test_an_impersonated_request_has_the_impersonated_users_privileges(client, settings):
    token = app_token(client, settings).json()["access_token"]
    configs = "/api/data/v9.2/msdyn_proactive_engagement_configs"
    payload = {"msdyn_name": "Made on behalf"}
    as_app = client.post(configs, json=payload, headers=bearer(token))
    assert as_app.status_code == 403 and as_app.json()["error"]["code"] == "0x80040220"  # a supervisor reads only
    admin_object_id = "0ad1a1e5-0000-4000-8000-00000ad1a1e5"
    as_admin = client.post(configs, json=payload, headers=bearer(token) | {"CallerObjectId": admin_object_id})
    assert as_admin.status_code == 204, as_admin.text
