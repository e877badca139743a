#!/usr/bin/env bash
# Packaging: the man pages document every option the binaries really accept, the Debian package
# builds for real (dpkg-buildpackage through packaging/build-deb.sh), holds what it must, enables
# the services, and the binaries, policy and units it ships work when extracted.
source "$(dirname "$0")/lib.sh"
for tool in dpkg-buildpackage dh systemd-analyze man; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/deps.sh test installs it)"
done
MAN=$SRC/packaging/man

# --- 1. Man pages: render without warnings; every long option of --help is documented.
for page in rempartd.8 rempart.1 rempart-notify.1; do
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$MAN/$page" 2>&1 >/dev/null)
  [[ -z "$warnings" ]] || fail "$page: $warnings"
done
# options_of HELP_TEXT: long options, one per line.
options_of() { grep -oE -- '--[a-z][a-z0-9-]+' | sort -u; }
# documented PAGE OPTION: roff writes '-' as '\-'.
documented() { grep -qF -- "$(printf '%s' "$2" | sed 's/-/\\-/g')" "$MAN/$1"; }
check_page() {
  local page=$1; shift
  local opts
  opts=$("$@" --help | options_of) || fail "$* --help failed"
  [[ -n "$opts" ]] || fail "$* --help lists no option"
  for o in $opts; do documented "$page" "$o" || fail "$page does not document $o (from $* --help)"; done
}
check_page rempartd.8 "$BIN/rempartd"
check_page rempart-notify.1 "$BIN/rempart-notify"
check_page rempart.1 "$BIN/rempart"
for cmd in $("$BIN/rempart" --help | awk '/^Commands:/{f=1; next} f && /^  [a-z]/{print $1}'); do
  documented rempart.1 "$cmd" || fail "rempart.1 does not document the command $cmd"
  "$BIN/rempart" "$cmd" --help >"$T/help.txt" 2>&1 || true
  for o in $(options_of <"$T/help.txt"); do
    [[ $o == --help ]] && continue
    documented rempart.1 "$o" || fail "rempart.1 does not document $o of 'rempart $cmd'"
  done
done
log "man pages match --help"

# --- 2. Build the package (the unit tests run in ctest already: nocheck).
DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" timeout 170 "$SRC/packaging/build-deb.sh" "$T/deb" >"$T/deb.log" 2>&1 \
  || fail "package build failed: $(tail -n 30 "$T/deb.log")"
DEB=$(ls "$T"/deb/rempart_*_amd64.deb)
if grep -q "dpkg-deb: warning" "$T/deb.log"; then fail "dpkg-deb warned: $(grep 'dpkg-deb: warning' "$T/deb.log")"; fi
log "built $(basename "$DEB")"

# --- 3. Contents and metadata.
dpkg -c "$DEB" >"$T/contents.txt"
for path in ./usr/sbin/rempartd ./usr/bin/rempart ./usr/bin/rempart-notify ./usr/share/rempart/default.json \
            ./etc/rempart/policy.json ./etc/rempart/keys/ ./etc/default/rempartd ./lib/systemd/system/rempartd.service \
            ./usr/lib/systemd/user/rempart-notify.service ./usr/share/man/man8/rempartd.8.gz \
            ./usr/share/man/man1/rempart.1.gz ./usr/share/man/man1/rempart-notify.1.gz \
            ./usr/share/doc/rempart/copyright; do
  grep -q " $path\$" "$T/contents.txt" || fail "package lacks $path"
done
grep -qE '^-rwxr-xr-x root/root .* \./usr/sbin/rempartd$' "$T/contents.txt" || fail "rempartd not root-owned 0755"
dpkg-deb -e "$DEB" "$T/ctrl"
[[ $(sort "$T/ctrl/conffiles" | tr '\n' ' ') == "/etc/default/rempartd /etc/rempart/policy.json " ]] \
  || fail "conffiles: $(cat "$T/ctrl/conffiles")"
grep -q "deb-systemd-helper enable 'rempartd.service'" "$T/ctrl/postinst" || fail "postinst does not enable rempartd"
grep -q "deb-systemd-invoke \$_dh_action 'rempartd.service'" "$T/ctrl/postinst" || fail "postinst does not start rempartd"
grep -q "deb-systemd-helper --user enable 'rempart-notify.service'" "$T/ctrl/postinst" \
  || fail "postinst does not enable rempart-notify for users"
sh -n "$T/ctrl/postinst" || fail "postinst is not valid sh"
depends=$(dpkg-deb -f "$DEB" Depends)
for lib in libbpf1 libhyperscan5 libjson-c5 libsystemd0 libssl3; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done

# --- 4. What it ships works: binaries, bundled policy, units.
dpkg -x "$DEB" "$T/root"
R=$T/root
[[ $("$R/usr/sbin/rempartd" --version) == "rempartd $(dpkg-deb -f "$DEB" Version | sed 's/-[^-]*$//')" ]] \
  || fail "packaged rempartd has the wrong version"
grep -q '^OK ' <<<"$("$R/usr/bin/rempart" policy check "$R/etc/rempart/policy.json")" || fail "packaged policy does not check"
cmp -s "$R/etc/rempart/policy.json" "$R/usr/share/rempart/default.json" || fail "/etc policy differs from the bundled one"
grep -q -- "--socket" <<<"$("$R/usr/bin/rempart-notify" --help)" || fail "packaged rempart-notify does not run"
mkdir -p "$T/units" "$T/xdg"; chmod 700 "$T/xdg"
sed "s|/usr/sbin/rempartd|$R/usr/sbin/rempartd|" "$R/lib/systemd/system/rempartd.service" >"$T/units/rempartd.service"
sed "s|/usr/bin/rempart-notify|$R/usr/bin/rempart-notify|" "$R/usr/lib/systemd/user/rempart-notify.service" \
  >"$T/units/rempart-notify.service"
(cd "$T/units" && systemd-analyze verify --man=no rempartd.service) >"$T/verify.log" 2>&1 \
  || fail "rempartd.service does not verify: $(cat "$T/verify.log")"
[[ ! -s "$T/verify.log" ]] || fail "rempartd.service: $(cat "$T/verify.log")"
(cd "$T/units" && XDG_RUNTIME_DIR=$T/xdg systemd-analyze --user verify --man=no rempart-notify.service) \
  >"$T/verify.log" 2>&1 || fail "rempart-notify.service does not verify: $(cat "$T/verify.log")"
[[ ! -s "$T/verify.log" ]] || fail "rempart-notify.service: $(cat "$T/verify.log")"
# Hardening must not regress: exposure stays below 4.0 ("OK").
exposure=$(cd "$T/units" && systemd-analyze security --offline=yes rempartd.service 2>/dev/null |
  sed -n 's/.*Overall exposure level for rempartd.service: \([0-9.]*\).*/\1/p')
[[ -n "$exposure" ]] || fail "no exposure score from systemd-analyze security"
awk -v e="$exposure" 'BEGIN { exit !(e < 4.0) }' || fail "rempartd.service exposure $exposure, expected < 4.0"
log "units verify; rempartd.service exposure $exposure"
log "PASS"
