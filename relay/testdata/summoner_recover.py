# For each line on stdin (a JSON array of strings), prints whether a
# Summoner client survives receiving it through the relay: the wrapper and
# every nested JSON string are parsed as the client does (json.loads, then
# fully_recover_json from summoner/utils/json_handlers.py, copied below),
# and the content must come out as a dict (the reference agent's hooks
# raise on anything else).
import json
import sys


def fully_recover_json(data):
    if isinstance(data, str):
        try:
            parsed = json.loads(data)
            return fully_recover_json(parsed)
        except json.JSONDecodeError:
            return data
    elif isinstance(data, list):
        return [fully_recover_json(elem) for elem in data]
    elif isinstance(data, dict):
        return {key: fully_recover_json(val) for key, val in data.items()}
    return data


def survives(line):
    wrapper = json.dumps({"remote_addr": "127.0.0.1:5555", "content": line}) + "\n"
    try:
        obj = fully_recover_json(wrapper)
    except json.JSONDecodeError:
        return False
    except (ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and isinstance(obj.get("content"), dict)


print(json.dumps([survives(line) for line in json.load(sys.stdin)]))
