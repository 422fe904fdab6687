-- Argo CD health check for okr.dev Objective (resource.customizations.health.okr.dev_Objective).
-- Argo CD runs it with gopher-lua (Lua 5.1) and the live object in `obj`, with only the
-- base and table libraries unless argocd-cm sets useOpenLibs for the kind: so no
-- string.* or math.*, and the check works whatever that key says.
--
-- Same rules as the KeyResult check: Degraded only when the operator cannot evaluate
-- the objective (Ready=False: a missing parent, a parentRef cycle); AtRisk and
-- OffTrack stay Healthy with the health, progress and member counts in the message.

local function percent(ratio)
  if ratio == nil then
    return "unknown"
  end
  local scaled = ratio * 100 + 0.5
  return tostring(scaled - scaled % 1) .. "%" -- x - x % 1 is math.floor(x)
end

local function condition(status, type)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

-- "2 OnTrack, 1 AtRisk", worst first; Lua tables have no order of their own.
local HEALTH_ORDER = { "OffTrack", "AtRisk", "Unknown", "Pending", "OnTrack", "Missed", "Achieved" }
local function counts(keyResults)
  if keyResults == nil then
    return nil
  end
  local parts = {}
  for _, health in ipairs(HEALTH_ORDER) do
    local n = keyResults[health]
    if n ~= nil and n > 0 then
      table.insert(parts, tostring(n) .. " " .. health)
    end
  end
  if #parts == 0 then
    return nil
  end
  return table.concat(parts, ", ")
end

local hs = {}
local status = obj.status
if status == nil or status.health == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator's first evaluation"
  return hs
end

local generation = obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to evaluate generation " .. tostring(generation)
  return hs
end

local ready = condition(status, "Ready")
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = (ready.reason or "NotReady") .. ": " .. (ready.message or "")
  return hs
end

if status.health == "Pending" then
  hs.status = "Progressing"
  hs.message = "Pending: the period has not started"
  return hs
end

hs.status = "Healthy"
if status.health == "Achieved" or status.health == "Missed" then
  local grade = status.grade
  if grade == nil then
    grade = status.progress
  end
  hs.message = status.health .. ": grade " .. percent(grade)
else
  hs.message = status.health .. ": progress " .. percent(status.progress) ..
    " (expected " .. percent(status.expectedProgress) .. ")"
end
local members = counts(status.keyResults)
if members ~= nil then
  hs.message = hs.message .. "; key results: " .. members
end
return hs
