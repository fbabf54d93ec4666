"""Metadata in SQLite (WAL mode), one connection per thread.

``images`` holds the current record of every key, its upload time and its ``taken`` sort value
(``ImageRecord.taken_time``: undated photos last), each indexed for a listing order (``labels`` its label index,
``words`` its search words, ``unlabelled`` the keys detection has not labelled yet); ``retired``
holds replaced versions (``state = 'history'``) and deleted images (``state = 'trash'``) until
their expiry. Every change is one ``BEGIN IMMEDIATE`` transaction, so concurrent writers
serialise and a key always has exactly one current version.

Modules, one concern each, composed in ``store.SqliteMetadataStore``: ``connection`` (one
connection per thread, write transactions, 16 KiB pages), ``schema`` (tables, indexes, upgrades of older
databases), ``rows`` (the current record and its index rows, retired rows), ``encoding`` (records as JSON text), ``positions``
(listing cursors), ``writes`` (current images), ``bulk`` and ``bulk_rows`` (the bulk write,
``put_many``: rows and counts a batch at a time, a first load's indexes built at its end),
``history``, ``trash``, ``counts``, ``labels``, ``listing`` (listing, search and suggestions),
``months`` (photos per month taken, kept by triggers), ``digests`` (an image by its content),
``state`` (shared state), ``folders`` (a count per folder, kept by the writes that add or remove
a photo, and the photos of one folder), ``shares`` (share links) and ``albums`` (albums and their
members; favourites are a field of the record, indexed in ``favourites``).
"""

from .store import SqliteMetadataStore

__all__ = ["SqliteMetadataStore"]
