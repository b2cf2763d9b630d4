# Service Client build. GNU make + pkg-config.
#   make            every binary (gcc; `make CC=clang` works too)
#   make check      install deps, build, run every test normally and under ASan+UBSan
#   make check SANITIZE=1   only the sanitized pass
#   make run        install what running needs, build, start the supervisor on ./var
#   make bench      benchmarks, each figure a ratio against a floor measured in the same run
#   make fuzz       run every libFuzzer target (FUZZ_SECONDS each; needs clang)
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
SYSCONFDIR ?= /etc
CUPS_BACKEND_DIR ?= /usr/lib/cups/backend
CC        ?= cc
FUZZ_CC   ?= clang
FUZZ_SECONDS ?= 60
CHECK_FUZZ_SECONDS ?= 10

ifeq ($(SANITIZE),1)
BUILD     ?= build-asan
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT       := -O1
else
BUILD     ?= build
SANFLAGS  :=
OPT       := -O2
endif

# zlib: pl_docinfo inflates PDF object streams to count their pages.
PKGS      := jansson openssl sqlite3 zlib
# libmicrohttpd: the console and IdentitySync's SCIM server (it links
# GnuTLS for their HTTPS).
MHD_CFLAGS := $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS   := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
# libcups ships cups-config rather than a .pc file on Debian 12.
CUPS_CFLAGS := $(shell cups-config --cflags 2>/dev/null)
CUPS_LIBS   := $(shell cups-config --libs 2>/dev/null || echo -lcups)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(CUPS_CFLAGS)
# libldap (OpenLDAP): lib/ldap.
LDAP_LIBS  := $(shell pkg-config --libs ldap 2>/dev/null || echo -lldap -llber)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(CUPS_LIBS) $(LDAP_LIBS) -lpthread
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
# libcurl (GnuTLS flavour), libwebsockets and net-snmp: the foreign-loop test
# service, and PrinterLogicServiceSNMP (net-snmp, libcurl for alert mail);
# common/ never links them. net-snmp's
# .pc file, not net-snmp-config: that one's --cflags carries its own build's
# flags (-Ulinux, -O2, perl's include dir).
# libwebsockets: PrinterLogicServiceOffNetworkServer's WebSocket client.
LWS_CFLAGS   := $(shell pkg-config --cflags libwebsockets 2>/dev/null)
LWS_LIBS     := $(shell pkg-config --libs libwebsockets 2>/dev/null || echo -lwebsockets)
ADAPT_PKGS   := libcurl libwebsockets netsnmp
ADAPT_CFLAGS := $(shell pkg-config --cflags $(ADAPT_PKGS) 2>/dev/null)
ADAPT_LIBS   := $(shell pkg-config --libs $(ADAPT_PKGS) 2>/dev/null || echo -lcurl -lwebsockets -lnetsnmp)

# MuPDF (lib/mail's conversion, conv.c): Debian's libmupdf-dev 1.21 is a
# static library whose mupdf.pc names only part of what it needs (it
# lacks harfbuzz, jbig2dec, openjp2, gumbo, mujs, and -lmupdf-third holds
# the bundled extract library). This line links; only what calls
# pl_mail_to_pdf (the Email service, test_mail, bench_mail) uses it:
# the archive's conv.o is pulled in by no other binary.
MUPDF_CFLAGS := $(shell pkg-config --cflags mupdf 2>/dev/null)
MUPDF_LIBS := -lmupdf -lmupdf-third -lharfbuzz -lfreetype -ljbig2dec -lopenjp2 \
              -lgumbo -lmujs -ljpeg -lpng16 -lz -lm

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wno-format-nonliteral -Wvla
CFLAGS    ?= $(OPT) -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DPL_VERSION='"$(VERSION)"' \
             -DPL_PREFIX='"$(PREFIX)"' $(WARN) $(CFLAGS) $(SANFLAGS) -MMD -MP $(PKG_CFLAGS)
ALL_LDFLAGS := -Wl,--as-needed $(LDFLAGS) $(SANFLAGS)

BIN       := $(BUILD)/bin
OBJ       := $(BUILD)/obj

# The layers (DESIGN.md §2). The runtime is proto/ and common/; the domain
# libraries live in lib/<name>/, each an archive of its own. The supervisor
# is compiled with the runtime's headers only and linked with the runtime's
# archives only: a supervisor source that includes a domain header does not
# build, so the trusted process cannot grow a directory, a job store or a
# printer driver by accident.
RUNTIME_INC := -Iproto -Icommon
LIB_NAMES  := holder jobstore directory printer badge ctl docinfo ldap mail prstatus pdfconv
DOMAIN_INC := $(addprefix -Ilib/,$(LIB_NAMES)) -Iclients
INC        := $(RUNTIME_INC) $(DOMAIN_INC)

PROTO_SRC  := $(wildcard proto/*.c)
COMMON_SRC := $(wildcard common/*.c)
SUPERVISOR_SRC := $(wildcard supervisor/*.c)
SUPERVISOR_OBJ := $(SUPERVISOR_SRC:%.c=$(OBJ)/%.o)
PLSC_SRC   := $(wildcard cli/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC  := $(wildcard tests/bench/*.c)

LIBPROTO   := $(OBJ)/libplproto.a
LIBCOMMON  := $(OBJ)/libplcommon.a
RUNTIME_LIBS := $(LIBCOMMON) $(LIBPROTO)
# Dependents before what they use (static archives, one pass).
DOMAIN_LIBS := $(foreach l,ctl holder jobstore directory printer badge docinfo ldap mail prstatus pdfconv,$(OBJ)/libpl$(l).a)
LIBS       := $(DOMAIN_LIBS) $(RUNTIME_LIBS)

OFFLINEPRINT_SRC := $(wildcard services/offlineprint/*.c)
AIRPRINT_SRC := $(wildcard services/airprint/*.c)
# libavahi-client: the AirPrint printer advertised by avahi-daemon
AVAHI_CFLAGS := $(shell pkg-config --cflags avahi-client 2>/dev/null)
AVAHI_LIBS   := $(shell pkg-config --libs avahi-client 2>/dev/null || echo -lavahi-client -lavahi-common)
$(OBJ)/services/airprint/dnssd.o: INC += $(AVAHI_CFLAGS)
BADGE_SRC  := $(wildcard services/badgerelease/*.c)
CONSOLE_SRC := $(wildcard console/*.c)
DIRECTORY_SRC := $(wildcard services/directory/*.c)
IDSYNC_SRC := $(wildcard services/identitysync/*.c)
SNMP_SRC   := $(wildcard services/snmp/*.c)
EMAIL_SRC  := $(wildcard services/email/*.c)
# PrinterLogicServiceEmail: libetpan for IMAP (only -letpan: Debian's .pc
# file carries its own build's link specs), libcurl for SMTP notices, and
# what lib/mail's conversion links (MUPDF_LIBS, defined with lib/mail).
CURL_LIBS  := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
EMAIL_LIBS := -letpan $(CURL_LIBS) $(MUPDF_LIBS)
OFFNET_SRC := $(wildcard services/offnetwork/*.c)
SERVICE_BINS := $(BIN)/PrinterLogicServiceOfflinePrint $(BIN)/PrinterLogicServiceSimpleBadgeRelease \
              $(BIN)/plsc-console $(BIN)/plsc-directory $(BIN)/PrinterLogicServiceIdentitySync \
              $(BIN)/PrinterLogicServiceSNMP $(BIN)/PrinterLogicServiceEmail \
              $(BIN)/PrinterLogicServiceOffNetworkServer \
              $(BIN)/PrinterLogicServiceAirprint

CLIENT_BINS := $(BIN)/plsc-submit $(BIN)/plsc-backend
PROGRAMS   := $(BIN)/plsc-supervisor $(BIN)/plsc $(SERVICE_BINS) $(CLIENT_BINS)
# The tests' own peers and misbehaving services (not installed; they need
# the test packages: libcurl, libwebsockets, net-snmp).
TEST_PROGRAMS := $(BIN)/plsc-testsvc $(BIN)/plsc-adaptsvc $(BIN)/plsc-recprinter \
              $(BIN)/plsc-evilclient $(BIN)/plsc-reademu $(BIN)/plsc-bulksubmit \
              $(BIN)/plsc-fakeop $(BIN)/plsc-bodyget \
              $(BIN)/plsc-slowclient $(BIN)/plsc-ldapcheck
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/replay-%,$(FUZZ_SRC))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/tests/bench/%,$(BENCH_SRC))

.PHONY: all check check-one check-both run bench fuzz install clean deps tests
all: $(PROGRAMS)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) $(INC) -c $< -o $@

# Target-specific include paths (inherited by each object's prerequisites).
$(SUPERVISOR_OBJ): INC := $(RUNTIME_INC)
$(PLSC_SRC:%.c=$(OBJ)/%.o) $(OBJ)/tests/unit/test_log.o: INC += -Isupervisor
$(OBJ)/console/%.o: INC += $(MHD_CFLAGS)
$(OBJ)/services/identitysync/%.o: INC += $(MHD_CFLAGS)
$(OBJ)/tests/lib/adaptsvc.o: INC += $(ADAPT_CFLAGS)
$(OBJ)/lib/mail/conv.o: INC += $(MUPDF_CFLAGS)
$(OBJ)/services/snmp/%.o: INC += $(ADAPT_CFLAGS)
$(OBJ)/services/offnetwork/%.o: INC += $(LWS_CFLAGS)

$(LIBPROTO): $(PROTO_SRC:%.c=$(OBJ)/%.o)
	@mkdir -p $(dir $@)
	@$(AR) rcs $@ $^

$(LIBCOMMON): $(COMMON_SRC:%.c=$(OBJ)/%.o)
	@mkdir -p $(dir $@)
	@$(AR) rcs $@ $^

define domain_lib
$(OBJ)/libpl$(1).a: $(patsubst %.c,$(OBJ)/%.o,$(wildcard lib/$(1)/*.c))
	@mkdir -p $$(dir $$@)
	@$$(AR) rcs $$@ $$^
endef
$(foreach l,$(LIB_NAMES),$(eval $(call domain_lib,$(l))))

# link NAME: the rule's prerequisites, then the packages.
define link
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(ALL_LDFLAGS) $^ -o $@ $(1)
endef

$(BIN)/plsc-supervisor: $(SUPERVISOR_OBJ) $(RUNTIME_LIBS)
	$(call link,$(PKG_LIBS))

# plsc reads the supervisor's config as the supervisor does.
PLSC_SV_OBJ := $(addprefix $(OBJ)/supervisor/,sconf.o policy.o privsep.o)
$(BIN)/plsc: $(PLSC_SRC:%.c=$(OBJ)/%.o) $(PLSC_SV_OBJ) $(LIBS)
	$(call link,$(PKG_LIBS))

$(BIN)/plsc-testsvc: $(OBJ)/tests/lib/testsvc.o $(OBJ)/tests/lib/rogue.o $(LIBS)
	$(call link,$(PKG_LIBS))

$(BIN)/plsc-adaptsvc: $(OBJ)/tests/lib/adaptsvc.o $(LIBS)
	$(call link,$(ADAPT_LIBS) $(PKG_LIBS))

$(BIN)/PrinterLogicServiceOfflinePrint: $(OFFLINEPRINT_SRC:%.c=$(OBJ)/%.o) $(LIBS)
	$(call link,$(PKG_LIBS))

# lib/pdfconv reads PNG with MuPDF (pdfconv-png.c): what links
# pl_pdfconv_convert links MUPDF_LIBS.
$(BIN)/PrinterLogicServiceAirprint: $(AIRPRINT_SRC:%.c=$(OBJ)/%.o) $(LIBS)
	$(call link,$(MUPDF_LIBS) $(PKG_LIBS) $(AVAHI_LIBS))
$(OBJ)/lib/pdfconv/pdfconv-png.o: INC += $(MUPDF_CFLAGS)
$(BUILD)/tests/fuzz/replay-fuzz_raster: $(OBJ)/tests/fuzz/fuzz_raster.o \
		$(OBJ)/tests/fuzz/replay.o $(LIBS)
	$(call link,$(MUPDF_LIBS) $(PKG_LIBS))

$(BIN)/plsc-submit: $(OBJ)/clients/plsc-submit.o $(OBJ)/clients/submit.o $(LIBS)
	$(call link,$(PKG_LIBS))

$(BIN)/plsc-backend: $(OBJ)/clients/plsc-backend.o $(OBJ)/clients/submit.o $(LIBS)
	$(call link,$(PKG_LIBS))

$(BIN)/PrinterLogicServiceSimpleBadgeRelease: $(BADGE_SRC:%.c=$(OBJ)/%.o) $(LIBS)
	$(call link,$(PKG_LIBS))

$(BIN)/plsc-console: $(CONSOLE_SRC:%.c=$(OBJ)/%.o) $(LIBS)
	$(call link,$(MHD_LIBS) $(PKG_LIBS))

$(BIN)/plsc-directory: $(DIRECTORY_SRC:%.c=$(OBJ)/%.o) $(LIBS)
	$(call link,$(PKG_LIBS))

$(BIN)/PrinterLogicServiceIdentitySync: $(IDSYNC_SRC:%.c=$(OBJ)/%.o) $(LIBS)
	$(call link,$(MHD_LIBS) $(PKG_LIBS))

SNMP_LIBS := $(shell pkg-config --libs netsnmp libcurl 2>/dev/null || echo -lnetsnmp -lcurl)
$(BIN)/PrinterLogicServiceSNMP: $(SNMP_SRC:%.c=$(OBJ)/%.o) $(LIBS)
	$(call link,$(SNMP_LIBS) $(PKG_LIBS))

$(BIN)/PrinterLogicServiceEmail: $(EMAIL_SRC:%.c=$(OBJ)/%.o) $(LIBS)
	$(call link,$(EMAIL_LIBS) $(PKG_LIBS))

# The gateway role takes jobs with OfflinePrint's intake (gw-intake.c).
OFFNET_INTAKE := $(addprefix services/offlineprint/,conn.c limits.c touch.c)
$(OBJ)/services/offnetwork/gw-%.o: INC += -Iservices/offlineprint
$(BIN)/PrinterLogicServiceOffNetworkServer: $(OFFNET_SRC:%.c=$(OBJ)/%.o) \
		$(OFFNET_INTAKE:%.c=$(OBJ)/%.o) $(LIBS)
	$(call link,$(LWS_LIBS) $(CURL_LIBS) $(PKG_LIBS))

$(BIN)/plsc-reademu: $(OBJ)/tests/lib/readeremu.o
	$(call link,)

$(BIN)/plsc-evilclient: $(OBJ)/tests/lib/evilclient.o $(LIBS)
	$(call link,$(PKG_LIBS))

# The off-network router's body download alone (t93: its trust rules).
$(OBJ)/tests/lib/bodyget.o: INC += -Iservices/offnetwork
$(BIN)/plsc-bodyget: $(OBJ)/tests/lib/bodyget.o $(OBJ)/services/offnetwork/body.o \
		$(OBJ)/services/offnetwork/pin.o $(LIBS)
	$(call link,$(CURL_LIBS) $(PKG_LIBS))

$(BIN)/plsc-fakeop: $(OBJ)/tests/lib/fakeop.o $(LIBS)
	$(call link,$(PKG_LIBS))

# Connections that hold slots doing nothing (the limits tests).
$(BIN)/plsc-slowclient: $(OBJ)/tests/lib/slowclient.o $(LIBS)
	$(call link,$(PKG_LIBS))

$(BIN)/plsc-recprinter: $(OBJ)/tests/lib/recprinter.o $(LIBS)
	$(call link,$(PKG_LIBS))

# pl_ldap_check_password against slapd (AirPrint's LDAP check, t53).
$(BIN)/plsc-ldapcheck: $(OBJ)/tests/lib/ldapcheck.o $(LIBS)
	$(call link,$(PKG_LIBS))

# Many held jobs from one process (the console's pager over 10,000, t41).
$(BIN)/plsc-bulksubmit: $(OBJ)/tests/lib/bulksubmit.o $(OBJ)/clients/submit.o $(LIBS)
	$(call link,$(PKG_LIBS))

$(BUILD)/tests/unit/%: $(OBJ)/tests/unit/%.o $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))

# Fuzz targets double as seed replayers: replay.c supplies main().
$(BUILD)/tests/fuzz/replay-%: $(OBJ)/tests/fuzz/%.o $(OBJ)/tests/fuzz/replay.o $(LIBS)
	$(call link,$(PKG_LIBS))

# Tests of modules that live outside the libraries link those objects.
$(BUILD)/tests/unit/test_console_session: $(OBJ)/tests/unit/test_console_session.o \
		$(OBJ)/console/session.o $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))
$(BUILD)/tests/unit/test_console_csv: $(OBJ)/tests/unit/test_console_csv.o \
		$(OBJ)/console/csv.o $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))

# lib/mail's conversion links MuPDF (MUPDF_LIBS above).
$(BUILD)/tests/unit/test_mail: $(OBJ)/tests/unit/test_mail.o $(LIBS)
	$(call link,$(MUPDF_LIBS) $(PKG_LIBS) $(CMOCKA_LIBS))
$(OBJ)/tests/unit/test_mail.o $(OBJ)/tests/bench/bench_mail.o: INC += $(MUPDF_CFLAGS)

# The Email service's state and mode decision, without IMAP.
$(OBJ)/tests/unit/test_email.o: INC += -Iservices/email
$(BUILD)/tests/unit/test_email: $(OBJ)/tests/unit/test_email.o $(OBJ)/services/email/state.o \
		$(OBJ)/services/email/decide.o $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))

# plsc-directory's requests, driven without the service around them.
$(OBJ)/tests/unit/test_dirsvc.o: INC += -Iservices/directory
$(BUILD)/tests/unit/test_dirsvc: $(OBJ)/tests/unit/test_dirsvc.o $(OBJ)/services/directory/op.o \
		$(OBJ)/services/directory/sync.o $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))

$(BUILD)/tests/unit/test_log: $(OBJ)/tests/unit/test_log.o $(OBJ)/supervisor/logcap.o $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))

# The supervisor's job-event writer, with its log file.
$(OBJ)/tests/unit/test_jobevent.o: INC += -Isupervisor
$(BUILD)/tests/unit/test_jobevent: $(OBJ)/tests/unit/test_jobevent.o $(OBJ)/supervisor/jobevent.o \
		$(OBJ)/supervisor/logcap.o $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))

$(OBJ)/tests/fuzz/fuzz_jobevent.o: INC += -Isupervisor
$(BUILD)/tests/fuzz/replay-fuzz_jobevent: $(OBJ)/tests/fuzz/fuzz_jobevent.o \
		$(OBJ)/tests/fuzz/replay.o $(OBJ)/supervisor/jobevent.o $(OBJ)/supervisor/logcap.o $(LIBS)
	$(call link,$(PKG_LIBS))

# fuzz_ap_ipp: the IPP operations (ipp.c, attrs.c); it defines what they
# call in jobs.c and lib/pdfconv itself (never reached).
$(OBJ)/tests/fuzz/fuzz_ap_ipp.o: INC += -Iservices/airprint
$(BUILD)/tests/fuzz/replay-fuzz_ap_ipp: $(OBJ)/tests/fuzz/fuzz_ap_ipp.o \
		$(OBJ)/tests/fuzz/replay.o $(OBJ)/services/airprint/ipp.o \
		$(OBJ)/services/airprint/attrs.o $(LIBS)
	$(call link,$(PKG_LIBS))

$(OBJ)/tests/fuzz/fuzz_ipp_auth.o: INC += -Iservices/airprint
$(BUILD)/tests/fuzz/replay-fuzz_ipp_auth: $(OBJ)/tests/fuzz/fuzz_ipp_auth.o \
		$(OBJ)/tests/fuzz/replay.o $(OBJ)/services/airprint/basic.o $(LIBS)
	$(call link,$(PKG_LIBS))

$(BUILD)/tests/fuzz/replay-fuzz_console_body: $(OBJ)/tests/fuzz/fuzz_console_body.o \
		$(OBJ)/tests/fuzz/replay.o $(OBJ)/console/body.o $(LIBS)
	$(call link,$(PKG_LIBS))

# The off-network WebSocket messages (both directions).
$(BUILD)/tests/fuzz/replay-fuzz_offnet_msg: $(OBJ)/tests/fuzz/fuzz_offnet_msg.o \
		$(OBJ)/tests/fuzz/replay.o $(OBJ)/services/offnetwork/msg.o $(LIBS)
	$(call link,$(PKG_LIBS))

# The off-network router's pinned certificate check, the event numbers.
$(BUILD)/tests/unit/test_offnet: $(OBJ)/tests/unit/test_offnet.o $(OBJ)/services/offnetwork/pin.o \
		$(OBJ)/services/offnetwork/msg.o $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))

# The gateway's readers of strangers' requests and routers' messages.
$(OBJ)/tests/fuzz/fuzz_offnet_gw.o: INC += -Iservices/offlineprint
$(BUILD)/tests/fuzz/replay-fuzz_offnet_gw: $(OBJ)/tests/fuzz/fuzz_offnet_gw.o \
		$(OBJ)/tests/fuzz/replay.o $(OBJ)/services/offnetwork/gw-parse.o \
		$(OBJ)/services/offnetwork/msg.o $(LIBS)
	$(call link,$(PKG_LIBS))

$(OBJ)/tests/unit/test_offnet_gw.o: INC += -Iservices/offlineprint
$(BUILD)/tests/unit/test_offnet_gw: $(OBJ)/tests/unit/test_offnet_gw.o \
		$(OBJ)/services/offnetwork/gw-parse.o $(OBJ)/services/offnetwork/msg.o \
		$(OBJ)/services/offnetwork/gw-outcomes.o $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))

# IdentitySync's entry mapping (fuzz and unit tests link it).
$(BUILD)/tests/fuzz/replay-fuzz_ldap_map: $(OBJ)/tests/fuzz/fuzz_ldap_map.o \
		$(OBJ)/tests/fuzz/replay.o $(OBJ)/services/identitysync/map.o $(LIBS)
	$(call link,$(PKG_LIBS))
$(BUILD)/tests/unit/test_ldap: $(OBJ)/tests/unit/test_ldap.o $(OBJ)/services/identitysync/map.o \
		$(OBJ)/services/identitysync/batch.o $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))

# SNMP's decoding of returned values and its alert hysteresis (pure).
SNMP_PURE_OBJ := $(addprefix $(OBJ)/services/snmp/,decode.o alerts.o)
$(OBJ)/tests/unit/test_snmp.o $(OBJ)/tests/fuzz/fuzz_snmp_decode.o: INC += -Iservices/snmp
$(BUILD)/tests/fuzz/replay-fuzz_snmp_decode: $(OBJ)/tests/fuzz/fuzz_snmp_decode.o \
		$(OBJ)/tests/fuzz/replay.o $(SNMP_PURE_OBJ) $(LIBS)
	$(call link,$(PKG_LIBS))
$(BUILD)/tests/unit/test_snmp: $(OBJ)/tests/unit/test_snmp.o $(SNMP_PURE_OBJ) $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))

# SCIM's parsers and PATCH (no network, no store: pure functions).
SCIM_PURE_OBJ := $(addprefix $(OBJ)/services/identitysync/,scim-parse.o scim-patch.o scim-res.o)
$(BUILD)/tests/fuzz/replay-fuzz_scim: $(OBJ)/tests/fuzz/fuzz_scim.o \
		$(OBJ)/tests/fuzz/replay.o $(SCIM_PURE_OBJ) $(LIBS)
	$(call link,$(PKG_LIBS))
$(BUILD)/tests/unit/test_scim: $(OBJ)/tests/unit/test_scim.o $(SCIM_PURE_OBJ) $(LIBS)
	$(call link,$(PKG_LIBS) $(CMOCKA_LIBS))

$(BUILD)/tests/bench/%: $(OBJ)/tests/bench/%.o $(LIBS)
	$(call link,$(PKG_LIBS))

$(BUILD)/tests/bench/bench_mail: $(OBJ)/tests/bench/bench_mail.o $(LIBS)
	$(call link,$(MUPDF_LIBS) $(PKG_LIBS))

$(BUILD)/tests/bench/bench_badge: $(OBJ)/tests/bench/bench_badge.o $(OBJ)/clients/submit.o $(LIBS)
	$(call link,$(PKG_LIBS))

$(BUILD)/tests/bench/bench_heldjobs: $(OBJ)/tests/bench/bench_heldjobs.o $(OBJ)/clients/submit.o $(LIBS)
	$(call link,$(PKG_LIBS))

tests: all $(TEST_PROGRAMS) $(UNIT_BINS) $(REPLAY_BINS) $(BENCH_BINS)

deps:
	@scripts/install-deps

# One pass (normal or SANITIZE=1): unit tests, seed replays, integration tests.
check-one: tests
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run-tests

check: deps
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory SANITIZE=1 tests
ifeq ($(SANITIZE),1)
	@BUILD=$(BUILD) SANITIZE=1 FUZZ_CC=$(FUZZ_CC) CHECK_FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) tests/run-tests
else
	@BUILD=build BUILD_ASAN=build-asan FUZZ_CC=$(FUZZ_CC) CHECK_FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) tests/run-tests
endif

# pkg-config runs when make reads this file: on a fresh machine the
# packages exist only after install-deps, so the build is a second make
# (as for check).
run:
	@scripts/install-deps --run
	@$(MAKE) --no-print-directory all
	@scripts/run-dev $(BUILD)

bench: all $(TEST_PROGRAMS) $(BENCH_BINS)
	@BUILD=$(BUILD) tests/bench/run-bench

fuzz:
	@FUZZ_CC=$(FUZZ_CC) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/libexec/plsc \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(SYSCONFDIR)/plsc \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 $(BIN)/plsc $(DESTDIR)$(PREFIX)/bin/plsc
	install -m 0755 $(BIN)/plsc-submit $(DESTDIR)$(PREFIX)/bin/plsc-submit
	install -d $(DESTDIR)$(CUPS_BACKEND_DIR)
	install -m 0700 $(BIN)/plsc-backend $(DESTDIR)$(CUPS_BACKEND_DIR)/plsc
	install -m 0755 $(BIN)/plsc-supervisor $(DESTDIR)$(PREFIX)/sbin/plsc-supervisor
	for s in $(SERVICE_BINS); do install -m 0755 $$s $(DESTDIR)$(PREFIX)/libexec/plsc/; done
	install -d $(DESTDIR)$(PREFIX)/share/plsc/console
	install -m 0644 console/www/* $(DESTDIR)$(PREFIX)/share/plsc/console/
	install -m 0644 docs/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 docs/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 docs/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	test -f $(DESTDIR)$(SYSCONFDIR)/plsc/plsc.json || \
	  $(BIN)/plsc-supervisor --print-default-config --prefix $(PREFIX) > $(DESTDIR)$(SYSCONFDIR)/plsc/plsc.json
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' scripts/plsc-supervisor.service.in \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/plsc-supervisor.service
	@# The services' system users and groups (privilege separation): on the
	@# real system only, not when staging a package under DESTDIR.
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then \
	  $(BIN)/plsc-supervisor --create-users -c $(SYSCONFDIR)/plsc/plsc.json; fi

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
