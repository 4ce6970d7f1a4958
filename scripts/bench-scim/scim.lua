-- wrk script of the SCIM benchmark (scripts/bench-scim.sh), one scenario per run:
--
--   wrk ... -s scim.lua http://127.0.0.1:PORT -- SCENARIO BASE_PATH USERS_TSV TOKEN RUN_TAG
--
-- SCENARIO is one of get, filter, list, post, patch. BASE_PATH is where the server's SCIM
-- endpoints are (/scim/v2, or /v2 for scim2-server). USERS_TSV holds `id<TAB>userName` lines,
-- written from that server's own preload. TOKEN is the bearer token ("-" for none). RUN_TAG
-- makes the userNames POST creates unique across runs.
--
--   get     GET  BASE/Users/{random id}
--   filter  GET  BASE/Users?filter=userName eq "{random userName}"
--   list    GET  BASE/Users?startIndex={random}&count=100
--   post    POST BASE/Users with a new userName (thread number and counter)
--   patch   PATCH BASE/Users/{id} replacing active: false on a random user, then true on a
--           user this thread set to false at least LAG requests earlier, alternately, so that
--           every PATCH changes the state and no two are in flight for the same user
--
-- done() prints one line, `RESULT key=value ...`, that the benchmark script parses. Errors are
-- wrk's own counts: responses with a status of 400 or more, and socket errors and timeouts.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

local scenario, base, token, run_tag
local ids, names = {}, {}
local headers = {}

local function urlencode(text)
  return (text:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local function random_index()
  return math.random(1, #ids)
end

local function post_body()
  local user_name = string.format("post-%s-%d-%d@bench.example.com", run_tag, thread_number or 0,
    counter)
  return string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",' ..
    '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],' ..
    '"externalId":"post-%s-%d-%d","userName":"%s",' ..
    '"name":{"givenName":"Post","familyName":"User%d"},"displayName":"Post User%d",' ..
    '"emails":[{"value":"%s","type":"work","primary":true}],"title":"Engineer","active":true,' ..
    '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":' ..
    '{"employeeNumber":"P%d","department":"Sales"}}',
    run_tag, thread_number or 0, counter, user_name, counter, counter, user_name, counter)
end

local PATCH_BODY = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],' ..
  '"Operations":[{"op":"replace","path":"active","value":%s}]}'
-- Users this thread set to false and will set back to true, oldest first.
local LAG = 64
local suspended, oldest, newest = {}, 1, 0

local function patch_request()
  local id, value
  if newest - oldest + 1 > LAG and counter % 2 == 0 then
    id = suspended[oldest]
    suspended[oldest] = nil
    oldest = oldest + 1
    value = "true"
  else
    id = ids[random_index()]
    newest = newest + 1
    suspended[newest] = id
    value = "false"
  end
  return wrk.format("PATCH", base .. "/Users/" .. id, headers, string.format(PATCH_BODY, value))
end

-- GET requests do not depend on what came before, so they are built once in init() and
-- request() only picks one: the load generator then spends its core on I/O, not on Lua.
local prebuilt = {}

local function prebuild()
  if scenario == "get" then
    for i = 1, #ids do
      prebuilt[i] = wrk.format("GET", base .. "/Users/" .. ids[i], headers)
    end
  elseif scenario == "filter" then
    for i = 1, #names do
      local filter = 'userName eq "' .. names[i] .. '"'
      prebuilt[i] = wrk.format("GET", base .. "/Users?filter=" .. urlencode(filter), headers)
    end
  elseif scenario == "list" then
    for start = 1, math.max(1, #ids - 99) do
      prebuilt[start] = wrk.format("GET", base .. "/Users?startIndex=" .. start .. "&count=100",
        headers)
    end
  elseif scenario ~= "post" and scenario ~= "patch" then
    error("unknown scenario " .. tostring(scenario))
  end
end

function request()
  counter = counter + 1
  if scenario == "post" then
    return wrk.format("POST", base .. "/Users", headers, post_body())
  elseif scenario == "patch" then
    return patch_request()
  end
  return prebuilt[math.random(1, #prebuilt)]
end

function init(args)
  scenario, base, run_tag = args[1], args[2], args[5] or "run"
  local users_file = args[3]
  token = args[4]
  if not (scenario and base and users_file and token) then
    error("usage: wrk ... -s scim.lua URL -- SCENARIO BASE_PATH USERS_TSV TOKEN RUN_TAG")
  end
  for line in io.lines(users_file) do
    local id, name = line:match("^([^\t]+)\t(.+)$")
    if id then
      ids[#ids + 1] = id
      names[#names + 1] = name
    end
  end
  if #ids == 0 then
    error("no users in " .. users_file)
  end
  if token ~= "-" then
    headers["Authorization"] = "Bearer " .. token
  end
  if scenario == "post" or scenario == "patch" then
    headers["Content-Type"] = "application/scim+json"
  end
  math.randomseed(os.time() * 1000 + (thread_number or 0) * 7919)
  prebuild()
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d max_us=%d " ..
    "status_errors=%d socket_errors=%d timeouts=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50),
    latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write, e.timeout))
end
