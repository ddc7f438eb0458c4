from __future__ import annotations

from django.core.management.base import BaseCommand

from audit import chain, integrity, tasks


class Command(BaseCommand):
    help = "Sign the audit chain head now, or hand the job to the Celery worker with --enqueue."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--enqueue", action="store_true", help="send the task to the worker")
        parser.add_argument(
            "--public-key",
            action="store_true",
            help="print the signing key's public key (hex), to pin it before replacing the key",
        )

    def handle(self, *args, enqueue: bool = False, public_key: bool = False, **options) -> None:
        if public_key:
            self.stdout.write(chain.public_key_hex(integrity._signing_key().public_key()))
            return
        if enqueue:
            tasks.sign_chain_head.delay()
            self.stdout.write("chain-head signing sent to the Celery worker")
            return
        checkpoint = integrity.sign_chain_head(actor_name="manage.py sign_audit_head")
        self.stdout.write(f"chain head #{checkpoint.seq} signed ({checkpoint.head_hash[:16]}…)")
