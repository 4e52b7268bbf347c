// The catalogue of inventory diagnostics: one stable code per kind of problem. Codes never change
// meaning once released; scripts and docs may refer to them. Ranges:
//   LVS1xx  the file itself: YAML syntax, shape and types (schema.ts)
//   LVS2xx  hosts, groups, SSH settings, secrets
//   LVS3xx  VRRP instances and sync groups
//   LVS4xx  virtual services and real servers
//   LVS5xx  imported Ansible inventories
//   LVS6xx  director backend
// Taken elsewhere: LVS0xx the CLI (src/cli), LVS7xx rendering and runs (src/render, src/run).
export const CODES = {
  LVS100: "YAML syntax error",
  LVS101: "duplicate key",
  LVS102: "wrong type",
  LVS103: "unknown key",
  LVS104: "value out of range",
  LVS105: "value not one of the allowed choices",
  LVS106: "malformed value",
  LVS107: "required key missing",
  LVS108: "invalid value",
  LVS109: "empty inventory or not a mapping",
  LVS110: "file cannot be read",

  LVS200: "host names a group that does not exist",
  LVS201: "group lists a host that does not exist",
  LVS202: "group children names a group that does not exist",
  LVS203: "group children form a cycle",
  LVS204: "jump host unknown or malformed",
  LVS205: "jump hosts form a loop",
  LVS206: "password given in clear",
  LVS207: "secret refers to an unset environment variable",
  LVS208: "no directors",
  LVS209: "host is both a director and a real server",
  LVS210: "two hosts share one address and port",
  LVS211: "become password without become",
  LVS212: "secret environment variable not set when the secret is needed",
  LVS213: "secret file cannot be read when the secret is needed",
  LVS214: "secret file does not exist",

  LVS300: "two instances share a VRID on one interface",
  LVS301: "no director would become master",
  LVS302: "equal priorities between directors",
  LVS303: "advert_int not valid for the VRRP version",
  LVS304: "nopreempt with initial state MASTER",
  LVS305: "unicast peers without a unicast source",
  LVS306: "instance member is not a director",
  LVS307: "one VIP in two places",
  LVS308: "sync group names an unknown instance",
  LVS309: "malformed VIP",
  LVS310: "two instances with one name",
  LVS311: "instance in more than one sync group",
  LVS312: "auth_pass longer than 8 characters",
  LVS313: "authentication with VRRP version 3",
  LVS314: "conflicting unicast settings",
  LVS315: "unicast needs IP addresses",
  LVS316: "several directors start as MASTER",
  LVS317: "IPv6 VIP in a VRRP version 2 instance",
  LVS318: "VIPs of both address families in one instance",
  LVS319: "authentication under vrrp_strict",
  LVS320: "two sync groups with one name",
  LVS321: "sync group instances run on different directors",

  LVS400: "service needs either vip+port or fwmark",
  LVS401: "two services for one VIP, port and protocol (or one fwmark)",
  LVS402: "DR/TUN real server on a port other than the service's",
  LVS403: "persistence_granularity without persistence_timeout",
  LVS404: "real server needs host or address",
  LVS405: "real server names an unknown host",
  LVS406: "real server is also a director",
  LVS407: "service VIP held by no VRRP instance",
  LVS408: "one real server twice in a service",
  LVS409: "unknown scheduler",
  LVS410: "health check has no port to connect to",
  LVS411: "quorum can never be reached",
  LVS412: "uthreshold below lthreshold",
  LVS413: "persistence_granularity is not a netmask",
  LVS414: "real server and VIP of different address families",
  LVS415: "retry and nb_get_retry both given",
  LVS416: "HTTP/SSL check on a UDP service",
  LVS417: "NAT real server without a port on a fwmark service",
  LVS418: "real server host has no IP address",
  LVS419: "port on a DR/TUN fwmark real server or sorry server",
  LVS420: "hysteresis not below quorum",
  LVS421: "real server in no virtual service",
  LVS422: "persistence_granularity on an IPv6 service",

  LVS500: "Ansible inventory has the wrong shape",
  LVS501: "Ansible variable cannot be used",
  LVS502: "Ansible setting ignored",

  LVS600: "keepalived from source needs a version or tarball",
  LVS601: "keepalived settings ignored with the lvsd backend",
} as const;

export type Code = keyof typeof CODES;
