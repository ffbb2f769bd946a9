#!/usr/bin/env bash
# System packages the reports and tests need, installed from Debian when missing:
#   chromium                 headless browser: HTML screenshots and the browser tests
#   libreoffice-writer-nogui DOCX → PDF of every report (soffice --headless)
#   poppler-utils            pdfinfo / pdftotext / pdftoppm: the PDF checks and page images
#   fonts-dejavu-core, fonts-liberation2   Vietnamese glyphs; Liberation Serif is metric-compatible
#                            with Times New Roman, the font of Vietnamese administrative documents
#                            (version 2 of Liberation: version 1, fonts-liberation, lacks the
#                            precomposed Vietnamese letters, which LibreOffice then draws in DejaVu)
# As root it installs what is missing (apt-get); otherwise it says what is missing and how to
# install it, and exits 0: the report then says which outputs it could not make (e.g. no PDF).
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need+=(fonts-dejavu-core)
dpkg -s fonts-liberation2 >/dev/null 2>&1 || need+=(fonts-liberation2)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${need[*]}" >&2
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
else
  echo "warning: missing system packages: ${need[*]}" >&2
  echo "         install them with: sudo apt-get install --no-install-recommends ${need[*]}" >&2
fi
