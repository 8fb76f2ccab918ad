"""The sending domain's pre-flight (`webzine check`): is the configuration one a receiver accepts?

Gmail, Yahoo and Naver refuse or junk bulk mail whose From domain is not authenticated and aligned,
and the sample settings leave `example.co.kr` in a dozen places a send uses. These checks say so
before a send does. The files, in the order a check runs:
- `findings.py`  one finding per check: pass, warn or fail, and the verdict's exit code
- `texts.py`     every message in Korean and English, in one table (ready for a gettext catalog)
- `names.py`     organisational domains (the Public Suffix List) and placeholder values
- `offline.py`   settings and DKIM key → findings: placeholders, alignment, https links, key size, footer
- `lookups.py`   the resolver edge: TXT, MX and address lookups, its errors translated
- `spf.py`       an SPF record tree: include/redirect chains, the 10-lookup count, what it authorises
- `online.py`    DNS → findings: SPF, the DKIM selector's key, DMARC, the Return-Path domain;
                 and the Gmail/Yahoo/Naver bulk-sender checklist built from all findings
"""
