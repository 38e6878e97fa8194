"""Drives a live sluice through the Python client openapi-python-client generated from its document
(run by .ci/openapi-client): an app and an object, uploads (multipart and a raw ZIP), a job waited
for, a filtered records list, and the job's result and a ZIP export downloaded and read. Every
step goes through the generated code, so an operation, parameter or body the document describes
wrongly fails here.

Usage: openapi_client_smoke.py BASE_URL ADMIN_TOKEN   (the generated sluice_client importable)
"""

import csv
import io
import sys
import time
import zipfile

from sluice_client import AuthenticatedClient
from sluice_client.api.apps import create_app
from sluice_client.api.exports import create_export, export_result, get_export
from sluice_client.api.jobs import create_job, get_job, job_result, upload
from sluice_client.api.objects import create_object
from sluice_client.api.records import list_records
from sluice_client.models import (
    AppInput,
    ErrorBody,
    ExportFormat,
    ExportInput,
    Field,
    FieldType,
    JobInput,
    JobOperation,
    ObjectInput,
    RecordFilter,
    UploadForm,
)
from sluice_client.types import File

CSV = b"email,age\nann@example.com,25\nbob@example.com,31\ncy@example.com,47\nbad@example.com,old\n"


def ok(response, status):
    """The parsed answer, after checking its status (an error answer parses as ErrorBody)."""
    parsed = response.parsed
    if response.status_code != status or isinstance(parsed, ErrorBody):
        sys.exit(f"expected {status}, got {response.status_code}: {response.content[:500]!r}")
    return parsed


def wait(fetch, what):
    """Polls until the job or export has ended; it must have completed."""
    deadline = time.monotonic() + 60
    while True:
        item = ok(fetch(), 200)
        if item.status in ("completed", "failed", "canceled"):
            if item.status != "completed":
                sys.exit(f"the {what} ended {item.status}: {item.error}")
            return item
        if time.monotonic() > deadline:
            sys.exit(f"the {what} is still {item.status} after 60 s")
        time.sleep(0.2)


def unzip_csv(file, name):
    """The rows of the one CSV a downloaded ZIP holds."""
    archive = zipfile.ZipFile(io.BytesIO(file.payload.read()))
    names = archive.namelist()
    if len(names) != 1:
        sys.exit(f"the {name} ZIP holds {names}")
    return list(csv.reader(io.StringIO(archive.read(names[0]).decode())))


def main(base, token):
    client = AuthenticatedClient(base_url=base, token=token, timeout=30.0)
    ok(create_app.sync_detailed(client=client, body=AppInput(name="smoke", label="Smoke")), 201)
    fields = [
        Field(name="email", type_=FieldType.TEXT, required=True, unique=True),
        Field(name="age", type_=FieldType.INTEGER, indexed=True),
    ]
    body = ObjectInput(name="people", fields=fields)
    obj = ok(create_object.sync_detailed("smoke", client=client, body=body), 201)
    assert [f.name for f in obj.fields] == ["email", "age"], obj

    # The multipart upload, then the same rows as a raw ZIP body.
    form = UploadForm(file=File(payload=io.BytesIO(CSV), file_name="people.csv", mime_type="text/csv"))
    info = ok(upload.sync_detailed("smoke", client=client, body=form), 201)
    assert (info.name, info.rows, info.columns) == ("people.csv", 4, ["email", "age"]), info
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("people.csv", CSV)
    raw = File(payload=io.BytesIO(zipped.getvalue()), file_name="people.zip")
    zinfo = ok(upload.sync_detailed("smoke", client=client, body=raw, name="people.zip"), 201)
    assert (zinfo.rows, zinfo.columns) == (4, ["email", "age"]), zinfo

    body = JobInput(operation=JobOperation.INSERT, object_="people", file_id=info.file_id)
    job = ok(create_job.sync_detailed("smoke", client=client, body=body), 201)
    job = wait(lambda: get_job.sync_detailed("smoke", job.id, client=client), "job")
    progress = (job.progress.added, job.progress.failed)
    assert progress == (3, 1), job

    # A filter on the object's own field, as `age[gte]=30`, with paging and a count.
    conditions = RecordFilter.from_dict({"age[gte]": "30"})
    page = ok(
        list_records.sync_detailed(
            "smoke", "people", client=client, filter_=conditions, sort="-age", limit=10, count=True
        ),
        200,
    )
    emails = [r["email"] for r in page.to_dict()["records"]]
    assert (emails, page.total) == (["cy@example.com", "bob@example.com"], 2), page

    result = ok(job_result.sync_detailed("smoke", job.id, client=client), 200)
    rows = unzip_csv(result, "result")
    assert rows[0] == ["email", "age", "ID", "STATUS", "ERRORS", "ROW"], rows[0]
    assert [r[3] for r in rows[1:]] == ["added", "added", "added", "failed"], rows
    assert [r[5] for r in rows[1:]] == ["1", "2", "3", "4"], rows

    body = ExportInput(object_="people", filter_={"age[gte]": 30}, fields=["email", "age"], sort="age",
                       format_=ExportFormat.ZIP)
    export = ok(create_export.sync_detailed("smoke", client=client, body=body), 201)
    wait(lambda: get_export.sync_detailed("smoke", export.id, client=client), "export")
    rows = unzip_csv(ok(export_result.sync_detailed("smoke", export.id, client=client), 200), "export")
    assert rows == [["email", "age"], ["bob@example.com", "31"], ["cy@example.com", "47"]], rows
    print("openapi client smoke: 1 passed, 0 failed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
