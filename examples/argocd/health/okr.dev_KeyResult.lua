-- Argo CD health check for okr.dev KeyResult (resource.customizations.health.okr.dev_KeyResult).
-- Argo CD runs it with gopher-lua (Lua 5.1) and the live object in `obj`, with only the
-- base and table libraries unless argocd-cm sets useOpenLibs for the kind: so no
-- string.* or math.*, and the check works whatever that key says.
--
-- Health here means "is the operator able to measure this key result", not "is the
-- key result on track": AtRisk and OffTrack stay Healthy (with the health in the
-- message), because an application's health is its worst resource's and a key result
-- falling behind plan is news for the team, not a broken deployment. Alertmanager
-- carries that news (OKRKeyResultAtRisk/OffTrack).

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

local hs = {}
local status = obj.status
if status == nil or status.health == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator's first evaluation"
  return hs
end

-- A spec change the operator has not evaluated yet: what status says is about the
-- old spec, so neither its errors nor its health describe this object yet.
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
  return hs
end
hs.message = status.health .. ": progress " .. percent(status.progress) ..
  " (expected " .. percent(status.expectedProgress) .. ")"
local data = condition(status, "DataAvailable")
if data ~= nil and data.status == "False" then
  hs.message = hs.message .. "; no data: " .. (data.reason or "") .. ": " .. (data.message or "")
end
return hs
