"""Verifies Standard Webhooks signatures with the `standardwebhooks` package from PyPI
(installed by `infra/local/install.sh verifiers`): an implementation independent of ours.

stdin:  JSON [{"body": "<raw body>", "headers": {"webhook-id": …}, "secret": "whsec_…"}, …]
stdout: JSON [true | "<why not>", …]
"""
import json
import sys

from standardwebhooks.webhooks import Webhook

results = []
for case in json.load(sys.stdin):
    try:
        Webhook(case["secret"]).verify(case["body"], case["headers"])
        results.append(True)
    except Exception as e:  # noqa: BLE001 - the reason is the answer
        results.append(f"{type(e).__name__}: {e}")
json.dump(results, sys.stdout)
