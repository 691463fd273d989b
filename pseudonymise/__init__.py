"""Zone 0: the only code that interprets raw identifiers or holds key material.

Modules
- ``luhn``: the Luhn (mod-10) check digit used by Swedish personnummer.
- ``organisation_numbers``: the kind of a school's organiser (municipal, independent,
  regional, state) read from its Swedish organisation number.
- ``national_ids``: Swedish, Norwegian and Danish national IDs: recognise, check, normalise,
  and the ``IdPolicy`` that says which may be linked.
- ``_domains``: ``Domain``, the closed set of pseudonym domains.
- ``_audit_keys``: the audit key that authenticates the audit log's records.
- ``_cell_keys``: the cell-key method's record keys (a keyed hash of a pseudonym).
- ``_keys``: key files (``KeyFile``, ``KeyRef``): create, load and refuse bad ones, rotate.
- ``_shred``: crypto-shredding a key version, and the record that refuses it for good.
- ``_workers``: HMAC-SHA256 over batches of distinct values, in-process or over workers.
- ``_hashing``: ``Pseudonymiser``: columns of identifiers in, ``Int64`` pseudonyms out.
- ``_collisions``: ``check_collisions`` and ``CollisionGuard``: two inputs with one
  pseudonym are refused, never merged.
- ``_errors``: the errors above, each a ``MedlerUserError`` with the fix in its message.

Nothing outside this package may read a key or a raw identifier's structure.
"""

from typing import TYPE_CHECKING

from medler._lazy import lazy_exports

if TYPE_CHECKING:
    from pseudonymise._audit_keys import (
        AuditKeyError,
        AuditKeys,
        audit_key_path,
        check_key_place,
        load_audit_keys,
        rotate_audit_key,
    )
    from pseudonymise._cell_keys import (
        RECORD_KEY_RANGE,
        cell_key_path,
        load_cell_key_secret,
        record_keys,
    )
    from pseudonymise._collisions import (
        CollisionGuard,
        check_collisions,
    )
    from pseudonymise._domains import (
        Domain,
    )
    from pseudonymise._errors import (
        CollisionError,
        KeyFileError,
        KeyLocationError,
        ScopeError,
        UnknownDomainError,
        UnlinkableIdError,
    )
    from pseudonymise._hashing import (
        PSEUDONYM_SCHEME,
        STATUS_DTYPE,
        Pseudonymiser,
        normalise_object_ids,
    )
    from pseudonymise._keys import (
        ENV_KEY_FILE,
        KeyFile,
        KeyRef,
        create_key_file,
        default_key_path,
        load_key_file,
        resolve_key_path,
        rotate_key_file,
    )
    from pseudonymise._shred import (
        ShreddedKey,
        shred_key_version,
        shredded_keys,
    )
    from pseudonymise.luhn import (
        luhn_check_digit,
        luhn_valid,
    )
    from pseudonymise.national_ids import (
        Country,
        IdKind,
        IdPolicy,
        IdReason,
        IdStatus,
        NationalId,
        Unlinkable,
        normalise_person_id,
        normalise_person_ids,
    )
    from pseudonymise.organisation_numbers import (
        OrganiserReading,
        OrganiserType,
        classify_organisation_number,
    )

# Where each public name lives, loaded on first use (PEP 562): the control plane reads the
# audit key without loading the hashing engine and Polars.
_HOME = {
    "AuditKeyError": "_audit_keys",
    "AuditKeys": "_audit_keys",
    "load_audit_keys": "_audit_keys",
    "rotate_audit_key": "_audit_keys",
    "check_key_place": "_audit_keys",
    "audit_key_path": "_audit_keys",
    "RECORD_KEY_RANGE": "_cell_keys",
    "load_cell_key_secret": "_cell_keys",
    "cell_key_path": "_cell_keys",
    "record_keys": "_cell_keys",
    "CollisionGuard": "_collisions",
    "check_collisions": "_collisions",
    "Domain": "_domains",
    "CollisionError": "_errors",
    "KeyFileError": "_errors",
    "KeyLocationError": "_errors",
    "ScopeError": "_errors",
    "UnknownDomainError": "_errors",
    "UnlinkableIdError": "_errors",
    "PSEUDONYM_SCHEME": "_hashing",
    "STATUS_DTYPE": "_hashing",
    "Pseudonymiser": "_hashing",
    "normalise_object_ids": "_hashing",
    "ENV_KEY_FILE": "_keys",
    "KeyFile": "_keys",
    "KeyRef": "_keys",
    "create_key_file": "_keys",
    "default_key_path": "_keys",
    "load_key_file": "_keys",
    "resolve_key_path": "_keys",
    "rotate_key_file": "_keys",
    "ShreddedKey": "_shred",
    "shred_key_version": "_shred",
    "shredded_keys": "_shred",
    "luhn_check_digit": "luhn",
    "luhn_valid": "luhn",
    "OrganiserReading": "organisation_numbers",
    "OrganiserType": "organisation_numbers",
    "classify_organisation_number": "organisation_numbers",
    "Country": "national_ids",
    "IdKind": "national_ids",
    "IdPolicy": "national_ids",
    "IdReason": "national_ids",
    "IdStatus": "national_ids",
    "NationalId": "national_ids",
    "Unlinkable": "national_ids",
    "normalise_person_id": "national_ids",
    "normalise_person_ids": "national_ids",
}

__getattr__ = lazy_exports(__name__, _HOME)

__all__ = [
    "ENV_KEY_FILE",
    "PSEUDONYM_SCHEME",
    "RECORD_KEY_RANGE",
    "STATUS_DTYPE",
    "AuditKeyError",
    "AuditKeys",
    "CollisionError",
    "CollisionGuard",
    "Country",
    "Domain",
    "IdKind",
    "IdPolicy",
    "IdReason",
    "IdStatus",
    "KeyFile",
    "KeyFileError",
    "KeyLocationError",
    "KeyRef",
    "NationalId",
    "OrganiserReading",
    "OrganiserType",
    "Pseudonymiser",
    "ScopeError",
    "ShreddedKey",
    "UnknownDomainError",
    "Unlinkable",
    "UnlinkableIdError",
    "audit_key_path",
    "cell_key_path",
    "check_collisions",
    "check_key_place",
    "classify_organisation_number",
    "create_key_file",
    "default_key_path",
    "load_audit_keys",
    "load_cell_key_secret",
    "load_key_file",
    "luhn_check_digit",
    "luhn_valid",
    "normalise_object_ids",
    "normalise_person_id",
    "normalise_person_ids",
    "record_keys",
    "resolve_key_path",
    "rotate_audit_key",
    "rotate_key_file",
    "shred_key_version",
    "shredded_keys",
]
