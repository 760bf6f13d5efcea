"""Schemathesis hooks for packages/server/test/schemathesis.test.ts (loaded via SCHEMATHESIS_HOOKS).

They keep the fuzz run local and its session alive; they never hide a failure:
- every notification channel body is pointed at loopback receivers the test started
  (webhook/ntfy URL -> RM_FUZZ_HTTP_SINK, SMTP host/port -> 127.0.0.1:RM_FUZZ_CLOSED_PORT),
  so a test notification never leaves 127.0.0.1 (ntfy's server defaults to https://ntfy.sh);
- a role change aimed at the fuzzing user itself is aimed at a bystander user instead
  (a role change ends the target's sessions, which would sign the run out halfway);
- a second-factor requirement for the admin role (the fuzzing user's) is left out of
  PUT /api/auth-settings (it would leave the run's session able to reach only the TOTP set-up).
"""
import os

import schemathesis

HTTP_SINK = os.environ["RM_FUZZ_HTTP_SINK"]
CLOSED_PORT = int(os.environ["RM_FUZZ_CLOSED_PORT"])
SELF_ID = os.environ["RM_FUZZ_SELF_ID"]
BYSTANDER_ID = os.environ["RM_FUZZ_BYSTANDER_ID"]


@schemathesis.hook
def before_call(ctx, case, kwargs):
    path = case.operation.path
    if path.startswith("/api/notification-channels") and isinstance(case.body, dict):
        config = case.body.get("config")
        kind = case.body.get("type")
        if isinstance(config, dict):
            # only the keys of the channel's own type: the configs are strict objects
            if kind == "webhook" or "url" in config:
                config["url"] = HTTP_SINK
            if kind == "ntfy" or "server" in config:
                config["server"] = HTTP_SINK
            if kind == "email" or "host" in config or "port" in config:
                config["host"] = "127.0.0.1"
                config["port"] = CLOSED_PORT
    if path == "/api/users/{id}/role" and isinstance(case.path_parameters, dict) and case.path_parameters.get("id") == SELF_ID:
        case.path_parameters["id"] = BYSTANDER_ID
    if path == "/api/auth-settings" and isinstance(case.body, dict) and isinstance(case.body.get("totp_required_roles"), list):
        case.body["totp_required_roles"] = [r for r in case.body["totp_required_roles"] if r != "admin"]
