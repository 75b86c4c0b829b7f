"""Spark webhook subscriptions from the command line (the admin does the same).

    python manage.py spark_webhooks list
    python manage.py spark_webhooks create --url https://portal.example.org/webhooks/spark/ \
        [--secret S] [--name N] [--type PriceCurveCreated ...]
    python manage.py spark_webhooks delete <webhookId>
    python manage.py spark_webhooks test <webhookId>
    python manage.py spark_webhooks catch-up      # events missed while we were down
"""

from django.core.management.base import BaseCommand, CommandError

from providers.errors import ProviderError
from providers.spark.events import subscriptions
from providers.spark.events.catch_up import catch_up
from providers.spark.events.models import WebhookSubscription


class Command(BaseCommand):
    help = "List, create, delete and test Volue Spark webhook subscriptions."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        commands.add_parser("list", help="Spark's webhooks beside ours.")
        create = commands.add_parser("create", help="Subscribe a receiver URL on Spark.")
        create.add_argument("--url", required=True)
        create.add_argument(
            "--secret",
            default="",
            help="A secret you already hold (moving a subscription); generated if omitted.",
        )
        create.add_argument("--name", default="")
        create.add_argument("--type", action="append", dest="types", default=None)
        for name, what in (("delete", "Unsubscribe on Spark"), ("test", "Send a test event")):
            sub = commands.add_parser(name, help=what + ".")
            sub.add_argument("webhook_id")
        commands.add_parser(
            "catch-up", help="Store the events missed since the last run (GET /events)."
        )

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"do_{action.replace('-', '_')}")(**options)
        except ProviderError as exc:
            raise CommandError(f"Spark: {exc}") from exc
        except WebhookSubscription.DoesNotExist as exc:
            raise CommandError(str(exc)) from exc

    def do_list(self, **options):
        rows = subscriptions.listed()
        if not rows:
            self.stdout.write("No webhooks on Spark.")
        for row in rows:
            local, remote = row["local"], row["remote"]
            if not row["webhookId"]:
                self.stdout.write(
                    f"(no id yet)  {row['url']}  (here only: Spark's answer to its create was "
                    "lost; `create` again with the same name and URL finds it)"
                )
                continue
            where = (
                "here and on Spark" if local and remote else "here only" if local else "Spark only"
            )
            active = "" if not local else (" active" if local.active else " inactive")
            status = f", {row['status']}" if row["status"] else ""
            self.stdout.write(f"{row['webhookId']}  {row['url']}  ({where}{active}{status})")

    def do_create(self, *, url, secret, name, types, **options):
        subscription = subscriptions.create(url, secret=secret, name=name, notification_types=types)
        status = f" ({subscription.status})" if subscription.status else ""
        self.stdout.write(
            f"Created webhook {subscription.webhook_id} for {subscription.url}{status}."
        )
        if not secret:
            self.stdout.write("A secret was generated and stored encrypted.")

    def do_delete(self, *, webhook_id, **options):
        subscription = subscriptions.find(webhook_id)
        subscriptions.delete(subscription)
        self.stdout.write(f"Deleted webhook {webhook_id}.")

    def do_test(self, *, webhook_id, **options):
        answer = subscriptions.send_test(subscriptions.find(webhook_id))
        status = answer.get("statusCode")
        self.stdout.write(f"Spark sent a test event (receiver answered {status}).")

    def do_catch_up(self, **options):
        self.stdout.write(f"Spark events: {catch_up()}.")
