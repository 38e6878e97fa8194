"""simple-salesforce's Bulk API 2.0 client (`sf.bulk2`), unchanged, against sluice over TLS.

Usage: simple_salesforce_bulk2.py BASE_URL APP USER PASSWORD WORKDIR
The session comes from sluice's /services/oauth2/token (password grant); the client is built
from the answer's instance_url and access_token, as an app that logs in by OAuth builds it.
Prints "SIMPLE SALESFORCE OK" when every step saw what Salesforce would answer.
"""

import csv
import io
import os
import sys

import requests
from simple_salesforce import Salesforce

base, app, user, password, work = sys.argv[1:6]
# The client's own first wait before it polls a job (its default is 5 seconds).
WAIT = 0.1
grant = requests.post(
    base + "/services/oauth2/token",
    data={"grant_type": "password", "client_id": app, "client_secret": "unused",
          "username": user, "password": password},
    timeout=30,
).json()
assert grant["token_type"] == "Bearer", grant
assert grant["instance_url"].startswith("https://"), grant
sf = Salesforce(instance_url=grant["instance_url"], session_id=grant["access_token"])


def write(name, text):
    path = os.path.join(work, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


# Insert accounts from a file: one job, every row created.
accounts = write("accounts.csv", "Name,Email__c\nAcme,ops@acme.io\nGlobex,hi@globex.io\nInitech,it@initech.io\n")
[res] = sf.bulk2.Account.insert(csv_file=accounts, wait=WAIT)
assert res["numberRecordsProcessed"] == 3 and res["numberRecordsFailed"] == 0, res
ok = rows(sf.bulk2.Account.get_successful_records(res["job_id"]))
assert [r["Name"] for r in ok] == ["Acme", "Globex", "Initech"], ok
assert all(r["sf__Created"] == "true" and r["sf__Id"] for r in ok), ok

# Upsert contacts by an external id, pointing at accounts through a relationship column.
contacts = write("contacts.csv", "LastName,Email,Score,Account.Email__c\n"
                 "Lovelace,ada@x.io,10,ops@acme.io\nHopper,grace@x.io,7,hi@globex.io\n"
                 "Turing,alan@x.io,3,it@initech.io\nNobody,no@x.io,1,missing@x.io\n")
[res] = sf.bulk2.Contact.upsert(csv_file=contacts, external_id_field="Email", wait=WAIT)
assert res["numberRecordsProcessed"] == 4 and res["numberRecordsFailed"] == 1, res
failed = rows(sf.bulk2.Contact.get_failed_records(res["job_id"]))
assert len(failed) == 1 and failed[0]["sf__Error"].startswith("INVALID_CROSS_REFERENCE_KEY"), failed
assert sf.bulk2.Contact.get_unprocessed_records(res["job_id"]).strip() == \
    '"LastName","Email","Score","Account.Email__c"'
again = write("again.csv", "LastName,Email\nLovelace-King,ada@x.io\n")
[res] = sf.bulk2.Contact.upsert(csv_file=again, external_id_field="Email", wait=WAIT)
updated = rows(sf.bulk2.Contact.get_successful_records(res["job_id"]))
assert updated[0]["sf__Created"] == "false", updated

# Query with locator paging: two records a page.
soql = "SELECT Id, LastName, Account.Name FROM Contact WHERE Score > 1 ORDER BY LastName"
pages = list(sf.bulk2.Contact.query(soql, max_records=2, wait=WAIT))
assert len(pages) == 2, pages
got = [r for p in pages for r in rows(p)]
assert [r["LastName"] for r in got] == ["Hopper", "Lovelace-King", "Turing"], got
assert [r["Account.Name"] for r in got] == ["Globex", "Acme", "Initech"], got
assert pages[0].startswith('"Id","LastName","Account.Name"'), pages[0]
downloaded = sf.bulk2.Contact.download(soql, path=work, max_records=100, wait=WAIT)
assert sum(d["number_of_records"] for d in downloaded) == 3, downloaded

# Delete by Id.
ids = [{"Id": r["Id"]} for r in got]
[res] = sf.bulk2.Contact.delete(records=ids, wait=WAIT)
assert res["numberRecordsProcessed"] == 3 and res["numberRecordsFailed"] == 0, res
left = [r for p in sf.bulk2.Contact.query("SELECT Id FROM Contact", wait=WAIT) for r in rows(p)]
assert left == [], left
print("SIMPLE SALESFORCE OK")
