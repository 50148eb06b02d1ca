"""What an invoice is computed from, as one hash stored beside its document.

R16: the same events, catalog, grants, settings and policy give the same invoice, byte
for byte. A draft computed by the batch path is stored with the hash of those inputs;
when the run that issues it (R13) finds the same hash, the draft's document is issued as
it stands instead of being computed again, which is most of a finalisation's work.

The hash covers:
- the organisation's settings, its period in its time zone (R1) and policy (R6);
- every credit grant usable then and what the ledger leaves of it (R10);
- the catalog (R5) and the seller;
- how many of the organisation's events lie before the period's end: events are only
  ever added, so a count that has not moved means the same events (a late one, R14,
  moves it);
- the source of the code that computes an invoice, so that a new version of bysecond
  never issues a draft an older one computed.

Anything it leaves out must not change the document; the batch tests hold reused drafts
to invoices computed afresh, byte for byte.
"""

from __future__ import annotations

import hashlib
import uuid
from functools import cache
from importlib import resources

from bysecond.core.catalog import Catalog
from bysecond.core.invoice import Seller

from .assemble import OrganizationInput

# The packages whose code shapes an invoice document; the API, CLI, portal and renderers
# read documents and never change them.
_COMPUTING_PACKAGES = ("bysecond.core", "bysecond.batch", "bysecond.services")


@cache
def code_fingerprint() -> str:
    """A hash of the source of every module that computes an invoice."""
    digest = hashlib.sha256()
    read = 0
    for package in _COMPUTING_PACKAGES:
        files = sorted(
            (f for f in resources.files(package).iterdir() if f.name.endswith(".py")),
            key=lambda f: f.name,
        )
        for file in files:
            digest.update(f"{package}.{file.name}\0".encode())
            digest.update(file.read_bytes())
            read += 1
    if not read:
        # Installed without its source (compiled only): nothing tells one version from
        # another, so no draft computed by another process is ever issued as it stands.
        digest.update(uuid.uuid4().bytes)
    return digest.hexdigest()


def run_fingerprint(catalog: Catalog, seller: Seller) -> str:
    """What every invoice of a run shares: the code, the catalog and the seller."""
    # The reprs of these frozen dataclasses name every field, with Decimals, Fractions
    # and instants written exactly.
    text = repr((code_fingerprint(), sorted(repr(price) for price in catalog), seller))
    return hashlib.sha256(text.encode()).hexdigest()


def inputs_hash(run: str, given: OrganizationInput, events_before_end: int) -> str:
    """The hash of one organisation's invoice inputs (see the module's docstring)."""
    text = repr((run, given, events_before_end))
    return hashlib.sha256(text.encode()).hexdigest()
