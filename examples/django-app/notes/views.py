from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt

from notes.models import Note


def index(request: HttpRequest) -> HttpResponse:
    release = (Path(settings.BASE_DIR) / "release.txt").read_text().strip()
    return HttpResponse(f"Hello from Django. release says: {release}. notes: {Note.objects.count()}\n",
                        content_type="text/plain")


def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok\n", content_type="text/plain")


@csrf_exempt  # an API for the example's tests; a real form would carry the CSRF token
def upload(request: HttpRequest) -> HttpResponse:
    if request.method != "POST" or not request.GET.get("name", "").isidentifier():
        return HttpResponseBadRequest("POST a body to /upload?name=NAME\n")
    saved = default_storage.save(request.GET["name"] + ".txt", ContentFile(request.body))
    return HttpResponse(settings.MEDIA_URL + saved + "\n", content_type="text/plain")
