"""Zoho's own CRM SDK (zohocrmsdk8-0), unchanged, against sluice: a custom Environment pointing at
the test server, an app token as the refresh token, then upload a ZIP, an insert job and an upsert
job by Email, poll each to completion, download and read the result; then a Bulk Read job with
criteria through BulkReadOperations, polled to completion, its ZIP downloaded and read. Usage:
    zoho_crm_sdk.py BASE_URL APP_TOKEN ORG_ID WORK_DIR
Prints "ZOHO CRM SDK OK" when every step held.
"""
import os
import sys
import time
import zipfile

from zohocrmsdk.src.com.zoho.api.authenticator import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, Initializer, SDKConfig
from zohocrmsdk.src.com.zoho.crm.api import bulk_read
from zohocrmsdk.src.com.zoho.crm.api.bulk_write import (
    APIException, BulkWriteOperations, BulkWriteResponse, DefaultValue, FieldMapping,
    FileBodyWrapper, RequestWrapper, Resource, SuccessResponse, UploadFileHeader)
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.fields import MinifiedField
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper

base, app_token, org, work = sys.argv[1:5]
env = DataCenter.Environment(base, base + "/oauth/v2/token", base)
token = OAuthToken(client_id="1000.SLUICE", client_secret="unused", refresh_token=app_token)
Initializer.initialize(
    environment=env, token=token,
    store=FileStore(os.path.join(work, "tokens.csv")),
    sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
    resource_path=work,
    logger=Logger.get_instance(Logger.Levels.INFO, os.path.join(work, "sdk.log")),
)
ops = BulkWriteOperations()

archive = os.path.join(work, "Leads.zip")
with zipfile.ZipFile(archive, "w") as z:
    z.writestr("Leads.csv", "Last_Name,Email,Company\nSmith,smith@example.com,Acme\n"
                            "Jones,jones@example.com,Beta\n,nobody@example.com,Gamma\n")
body = FileBodyWrapper()
body.set_file(StreamWrapper(file_path=archive))
headers = HeaderMap()
headers.add(UploadFileHeader.feature, "bulk-write")
headers.add(UploadFileHeader.x_crm_org, org)
r = ops.upload_file(body, headers)
uploaded = r.get_object()
assert r.get_status_code() == 200 and isinstance(uploaded, SuccessResponse), r.get_response_json()
file_id = str(uploaded.get_details()["file_id"])
assert file_id.isdigit(), file_id
print("uploaded", file_id)


def create(operation, find_by=None):
    req = RequestWrapper()
    req.set_character_encoding("UTF-8")
    req.set_operation(Choice(operation))
    resource = Resource()
    resource.set_type(Choice("data"))
    module = MinifiedModule()
    module.set_api_name("Leads")
    resource.set_module(module)
    resource.set_file_id(file_id)
    if find_by:
        resource.set_find_by(find_by)
    mappings = []
    for i, name in enumerate(["Last_Name", "Email", "Company"]):
        m = FieldMapping()
        m.set_api_name(name)
        m.set_index(i)
        mappings.append(m)
    source = FieldMapping()
    source.set_api_name("Lead_Source")
    value = DefaultValue()
    value.set_value("Import")
    source.set_default_value(value)
    mappings.append(source)
    resource.set_field_mappings(mappings)
    req.set_resource([resource])
    r = ops.create_bulk_write_job(req)
    o = r.get_object()
    assert r.get_status_code() == 201 and isinstance(o, SuccessResponse), r.get_response_json()
    details = o.get_details()
    assert int(details["created_by"].get_id()) > 0
    return details["id"]


def poll(job_id):
    for _ in range(600):
        r = ops.get_bulk_write_job_details(str(job_id))
        o = r.get_object()
        assert isinstance(o, BulkWriteResponse), r.get_response_json()
        if o.get_status() == "COMPLETED":
            res = o.get_resource()[0]
            assert res.get_module().get_api_name() == "Leads"
            assert int(res.get_module().get_id()) > 0
            return o.get_resource()[0].get_file(), o.get_result().get_download_url()
        time.sleep(0.05)
    raise AssertionError("the job did not complete")


def download(url):
    r = ops.download_bulk_write_result(url)
    o = r.get_object()
    assert isinstance(o, FileBodyWrapper), r.get_response_json()
    stream = o.get_file()
    out = os.path.join(work, stream.get_name())
    with open(out, "wb") as f:
        for chunk in stream.get_stream():
            f.write(chunk)
    with zipfile.ZipFile(out) as z:
        return [z.read(n).decode() for n in z.namelist()][0].splitlines()


smith = None
for operation, find_by, expect in [("insert", None, "ADDED"), ("upsert", "Email", "UPDATED")]:
    job = create(operation, find_by)
    file, url = poll(job)
    assert (file.get_total_count(), file.get_skipped_count()) == (3, 1), vars(file)
    lines = download(url)
    assert lines[0] == "Last_Name,Email,Company,STATUS,RECORD_ID,ERRORS", lines
    assert lines[1].startswith(f"Smith,smith@example.com,Acme,{expect},"), lines
    smith = lines[1].split(",")[4]
    assert smith.isdigit(), lines
    assert lines[3] == ",nobody@example.com,Gamma,SKIPPED,,MANDATORY_NOT_FOUND-Last_Name", lines
    print(operation, "job", job, "done:", lines[1])

# Bulk Read: Leads from the Import whose last name is Smith or Brown, three fields.
reads = bulk_read.BulkReadOperations()


def criterion(field, comparator, value):
    c = bulk_read.Criteria()
    f = MinifiedField()
    f.set_api_name(field)
    c.set_field(f)
    c.set_comparator(Choice(comparator))
    c.set_value(value)
    return c


criteria = bulk_read.Criteria()
criteria.set_group_operator(Choice("and"))
criteria.set_group([criterion("Lead_Source", "equal", "Import"),
                    criterion("Last_Name", "in", ["Smith", "Brown"])])
query = bulk_read.Query()
leads = MinifiedModule()
leads.set_api_name("Leads")
query.set_module(leads)
query.set_fields(["Last_Name", "Email", "Lead_Source"])
query.set_criteria(criteria)
query.set_page(1)
body = bulk_read.BodyWrapper()
body.set_query(query)
body.set_file_type("csv")
r = reads.create_bulk_read_job(body)
o = r.get_object()
assert r.get_status_code() == 201 and isinstance(o, bulk_read.ActionWrapper), r.get_response_json()
created = o.get_data()[0]
assert isinstance(created, bulk_read.SuccessResponse), r.get_response_json()
assert created.get_code().get_value() == "ADDED_SUCCESSFULLY"
read_id = int(created.get_details()["id"])
print("bulk read job", read_id)

for _ in range(600):
    r = reads.get_bulk_read_job_details(read_id)
    o = r.get_object()
    assert isinstance(o, bulk_read.ResponseWrapper), r.get_response_json()
    detail = o.get_data()[0]
    if detail.get_state().get_value() == "COMPLETED":
        break
    assert detail.get_state().get_value() in ("ADDED", "IN PROGRESS"), r.get_response_json()
    time.sleep(0.05)
else:
    raise AssertionError("the read job did not complete")
assert detail.get_query().get_module().get_api_name() == "Leads"
result = detail.get_result()
assert (result.get_page(), result.get_count(), result.get_per_page(), result.get_more_records()) \
    == (1, 1, 200000, False), vars(result)
assert result.get_download_url() == f"/crm/bulk/v8/read/{read_id}/result", result.get_download_url()

r = reads.download_result(read_id)
o = r.get_object()
assert isinstance(o, bulk_read.FileBodyWrapper), r.get_response_json()
stream = o.get_file()
assert stream.get_name() == f"{read_id}.zip", stream.get_name()
out = os.path.join(work, stream.get_name())
with open(out, "wb") as f:
    for chunk in stream.get_stream():
        f.write(chunk)
with zipfile.ZipFile(out) as z:
    assert z.namelist() == [f"{read_id}.csv"], z.namelist()
    lines = z.read(f"{read_id}.csv").decode().splitlines()
# The record's number is the one Bulk Write gave it.
assert lines == ["Id,Last_Name,Email,Lead_Source", f"{smith},Smith,smith@example.com,Import"], lines
print("bulk read job", read_id, "done:", lines[1])
print("ZOHO CRM SDK OK")
