from __future__ import annotations

from django.core.management.base import BaseCommand

from audit import integrity, tasks


class Command(BaseCommand):
    help = "Sign the audit chain head now, or hand the job to the Celery worker with --enqueue."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--enqueue", action="store_true", help="send the task to the worker")

    def handle(self, *args, enqueue: bool = False, **options) -> None:
        if enqueue:
            tasks.sign_chain_head.delay()
            self.stdout.write("chain-head signing sent to the Celery worker")
            return
        checkpoint = integrity.sign_chain_head(actor_name="manage.py sign_audit_head")
        self.stdout.write(f"chain head #{checkpoint.seq} signed ({checkpoint.head_hash[:16]}…)")
