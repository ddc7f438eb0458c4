from __future__ import annotations

from django.core.management.base import BaseCommand

from cameras.demo import clip_dir, load_demo_cameras


class Command(BaseCommand):
    help = "Create the demo cameras over short generated clips (made at first run only)."

    def handle(self, *args, **options) -> None:
        cameras = load_demo_cameras()
        self.stdout.write(self.style.SUCCESS("Caméras de démonstration / demo cameras"))
        self.stdout.write(f"  clips : {clip_dir()}")
        for camera in cameras:
            self.stdout.write(f"  {camera.code:<10} {camera.name}")
