"""Default settings; every one can be overridden from the environment with the FLASK_ prefix.

Every setting of the site has its default here and only here: code reads app.config[NAME],
never app.config.get(NAME, default). The README's configuration table lists the same names.
Times are always shown and entered in Europe/Paris (irev.dates.PARIS): the programme is French,
and the calendars' VTIMEZONE describes that zone only, so it is not a setting.
"""

from __future__ import annotations

from pathlib import Path

DEV_SECRET_KEY = "dev-only-not-secret"


class Defaults:
    """Settings for development; production overrides them through FLASK_* variables."""

    SECRET_KEY = DEV_SECRET_KEY
    #: SQLite file under instance/ unless FLASK_SQLALCHEMY_DATABASE_URI says otherwise.
    SQLALCHEMY_DATABASE_URI: str | None = None
    #: pool_pre_ping: a connection is checked (one round trip) when a request takes it from the
    #: pool, so a PostgreSQL restart or failover costs no visitor an error page. Cached public
    #: pages take no connection at all; for a registration it is measured within the noise.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    #: Public address of the site, used to build links in e-mails.
    IREV_BASE_URL = "http://127.0.0.1:5000"
    #: Offsets before a meeting at which the video link is sent: "day-before@10:00" and "1h".
    IREV_VIDEO_LINK_SCHEDULE = "veille@10:00,1h"
    #: Days before a FULL meeting its seated people are asked « je confirme / je libère ma
    #: place » (irev.services.reconfirmation); 0: never. A cycle may set its own.
    IREV_RECONFIRM_DAYS_BEFORE = 7
    #: Days a confirmation link stays valid.
    IREV_LINK_MAX_AGE_DAYS = 7
    #: Days a self-service link (in every e-mail) stays valid: longer than a season.
    IREV_MANAGE_LINK_MAX_AGE_DAYS = 400
    #: Retention of personal data after the programme's last meeting, in months.
    IREV_RETENTION_MONTHS = 12
    #: E-mail of IREV's data protection officer, shown on /donnees-personnelles; when empty the
    #: page tells people to write to the programme contact, marked for the officer's attention.
    IREV_DPO_EMAIL = ""
    #: Legal notice (/mentions-legales): IREV's postal address as publisher, and the host's
    #: name, postal address and telephone. Empty: the page shows nothing in their place and the
    #: staff dashboard lists them « à compléter ».
    IREV_PUBLISHER_ADDRESS = ""
    IREV_HOST_NAME = ""
    IREV_HOST_ADDRESS = ""
    IREV_HOST_PHONE = ""
    #: Etalab's decoupage-administratif JSON files (communes, epci, departements, regions), as
    #: `make territories` installs them; `flask territories load` reads them.
    IREV_TERRITORIES_DIR = str(
        Path(__file__).resolve().parent.parent / ".data/decoupage-administratif"
    )
    #: Number of reverse proxies in front of the app (for ProxyFix); 0 when served directly.
    IREV_PROXY_HOPS = 0
    #: Level of the application's loggers (irev.*).
    IREV_LOG_LEVEL = "INFO"
    #: One log line per request (logger irev.request; no personal data, tokens masked).
    IREV_REQUEST_LOG = True

    #: Without MAIL_SERVER, e-mails are captured in the database (readable at /admin/emails).
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "IREV – Rencontres des élus <rencontres-elus@irev.fr>"
    MAIL_REPLY_TO = "m.petit@irev.fr"
    MAIL_SUPPRESS_SEND = False
    #: Seconds an SMTP exchange may stall before the worker gives the batch up (it retries).
    MAIL_TIMEOUT = 60
    #: Name the worker gives in SMTP EHLO; empty: the machine's name, or "[127.0.0.1]" when it
    #: has no dot (which some relays refuse).
    IREV_MAIL_EHLO_NAME = ""
    #: Seconds between two passes of `flask mail worker` (its --interval overrides it).
    IREV_MAIL_WORKER_INTERVAL = 30
    #: Outbox rows one batch claims (and sends over one SMTP connection).
    IREV_MAIL_BATCH_SIZE = 100
    #: Seconds a worker holds the rows it claimed (60 at least); then another may take them.
    IREV_MAIL_LEASE_SECONDS = 600
    #: Hours a failing e-mail is retried (1, 2, 4 ... minutes apart) before it is marked failed.
    IREV_MAIL_GIVE_UP_HOURS = 24

    WTF_CSRF_TIME_LIMIT = None  # a slow reader must not lose a half-filled form
    #: Refuse bodies over 64 kB (no form here needs more).
    MAX_CONTENT_LENGTH = 64 * 1024

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_STRATEGY = "moving-window"
    #: Registration form: submissions per client address and per target e-mail address, and
    #: inline field checks (Flask-Limiter syntax, ";" between limits).
    #: A person sends the form once or twice; an office behind one address sends a few more.
    IREV_RATELIMIT_SUBMIT_IP = "10 per minute;50 per hour"
    #: Nobody needs more than a handful of confirmation e-mails: this stops mail bombing.
    IREV_RATELIMIT_SUBMIT_EMAIL = "3 per minute;10 per day"
    #: Inline checks run once per changed field: generous, but not a free validation oracle.
    IREV_RATELIMIT_CHECK_IP = "60 per minute;600 per hour"
    IREV_RATELIMIT_CHECK_EMAIL = "60 per minute"
    #: Failed staff sign-in attempts (POST) per client address (a success never counts).
    IREV_SIGN_IN_RATE_LIMIT = "10 per minute;50 per hour"
    #: « Mot de passe oublié » requests per client address (each one may send an e-mail).
    IREV_PASSWORD_RESET_RATE_LIMIT = "5 per minute;20 per hour"

    #: Share of a meeting's scheduled length (%) a person must be connected, according to the
    #: imported participant report, to count as « présent »; a programme may set its own.
    IREV_ATTENDANCE_THRESHOLD_PERCENT = 50
    #: Largest participant report (CSV) staff may upload, in bytes.
    IREV_ATTENDANCE_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    #: Who signs the attestations de participation, as printed under them.
    IREV_ATTESTATION_SIGNATORY = "Morgane Petit, directrice de l’IREV"
    #: Attach the attestation de participation (PDF) to the thank-you e-mail sent to attendees
    #: after a meeting; False: the e-mail links to the self-service page, where it is issued.
    IREV_ATTESTATION_BY_EMAIL = False
    #: Folder of the files staff add to a meeting (slides, compte rendu); empty: the folder
    #: "ressources" of the instance folder. Never under static/: files go out only after a check.
    IREV_RESOURCES_DIR = ""
    #: Largest file staff may add to a meeting, in bytes (20 Mo).
    IREV_RESOURCE_MAX_BYTES = 20 * 1024 * 1024

    #: HSTS (one year, irev/security.py) is sent only when True; production turns it on.
    IREV_HSTS = False
    #: Seconds a worker reuses what it read for the public pages (programme, seat counts,
    #: meeting pages) before asking the database again. A commit made by any worker of the same
    #: gunicorn instance shows at once; other writers (commands, psql, other instances) within
    #: this delay. 0: ask the database on every request. See irev/services/cache.py.
    IREV_CACHE_SECONDS = 1.0
