#!/bin/bash
# demo.sh -- make demo: a hub and two nodes on loopback with CURVE keys, a sample
# organisation built through duotangctl, and what an operator would look at.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build
DEMO=build/demo
rm -rf "$DEMO"
mkdir -p "$DEMO"
PIDS=()
cleanup () {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

say () { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Wait (bounded) until a server has written its endpoint file.
endpoint_of () {
    for _ in $(seq 100); do
        [ -s "$1/endpoint" ] && { cat "$1/endpoint"; return 0; }
        sleep 0.1
    done
    echo "demo: $1 did not start" >&2
    cat "$1.log" >&2
    return 1
}

# The organisation is founded a month ago: the servers' clocks run back to the
# day before the first of last month while it is built (DUOTANG_CLOCK_OFFSET_MS,
# tests only), then the month is played through and reported on today.
ZONE=Asia/Shanghai
TODAY=$(TZ=$ZONE date +%F)
START=$(TZ=$ZONE date -d "$(TZ=$ZONE date +%Y-%m-01) -1 month" +%F)     # first of last month
BACK_DAYS=$(( ($(date -d "$TODAY" +%s) - $(date -d "$START -1 day" +%s)) / 86400 ))
export DUOTANG_CLOCK_OFFSET_MS=$(( -BACK_DAYS * 86400000 ))

say "keys: headquarters and two regional nodes (CurveZMQ)"
for name in hq n-chengdu n-chongqing; do
    $BIN/duotangctl key new $name --dir $DEMO > /dev/null
done
ls -l $DEMO/*.key $DEMO/*.pub | awk '{ print "  " $1, $NF }'

say "starting the hub"
$BIN/duotang-hub -d $DEMO/hub -e 'tcp://127.0.0.1:*' --admin $DEMO/hq.pub > $DEMO/hub.log 2>&1 &
PIDS+=($!)
HUB=$(endpoint_of $DEMO/hub)
echo "  hub listening on $HUB"
export DUOTANG_KEY=$DEMO/hq.key DUOTANG_SERVER_KEY=$DEMO/hub/hub.pub DUOTANG_ENDPOINT=$HUB
ctl () { $BIN/duotangctl "$@"; }

say "the organisation: officers, branches, nodes"
ctl officer add o-zhang 张三丰 > /dev/null
ctl officer add o-li 李白 > /dev/null
ctl officer add o-du 杜甫 > /dev/null
ctl branch create b-chengdu 成都分舵 --leader o-zhang > /dev/null
ctl branch create b-chongqing 重庆分舵 --leader o-li > /dev/null
ctl branch create b-xian 西安分舵 --leader o-du --cap 120 > /dev/null
for node in n-chengdu n-chongqing; do
    ctl node add $node > /dev/null
    ctl key allow $node --role node --node $node --public $DEMO/$node.pub > /dev/null
done
ctl branch assign b-chengdu --node n-chengdu > /dev/null
ctl branch assign b-chongqing --node n-chongqing > /dev/null
ctl officer list

say "hall leaders take core seats, halls are founded"
HALLS=(h-qingyang:青羊堂口:b-chengdu h-jinjiang:锦江堂口:b-chengdu h-wuhou:武侯堂口:b-chengdu
       h-jinniu:金牛堂口:b-chengdu h-yuzhong:渝中堂口:b-chongqing h-jiangbei:江北堂口:b-chongqing
       h-nanan:南岸堂口:b-chongqing h-shapingba:沙坪坝堂口:b-chongqing h-yanta:雁塔堂口:b-xian
       h-beilin:碑林堂口:b-xian h-lianhu:莲湖堂口:b-xian h-weiyang:未央堂口:b-xian)
SURNAMES=(王 李 张 刘 陈 杨 赵 黄 周 吴 徐 孙 胡 朱 高 林 何 郭 马 罗)
GIVEN=(伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 涛 明 超 秀 霞 平 刚)
i=0
for hall in "${HALLS[@]}"; do
    IFS=: read -r id name branch <<< "$hall"
    leader=m-lead-$i
    ctl member add $leader "${SURNAMES[$i]}堂主" > /dev/null
    ctl member join $leader --branch $branch > /dev/null
    ctl hall create $id "$name" --branch $branch --leader $leader > /dev/null
    i=$((i + 1))
done

say "importing 300 fans from CSV (every row checked; one bad row would stop them all)"
CSV=$DEMO/fans.csv
echo "id,name,referrer,group" > $CSV
for n in $(seq 0 299); do
    hall=${HALLS[$((n % 12))]%%:*}
    referrer=""
    [ $n -ge 12 ] && referrer=m-$((n - 12))                         # fission: fans invite fans
    group=$hall
    [ $((n % 25)) -eq 0 ] && group=${HALLS[$((n % 12))]##*:}      # some take core seats
    [ $n -ge 270 ] && group=""                                      # not placed yet
    echo "m-$n,${SURNAMES[$((n % 20))]}${GIVEN[$((n / 20 % 20))]},$referrer,$group" >> $CSV
done
head -4 $CSV
ctl import members $CSV

say "the tree at headquarters"
ctl tree

say "starting two regional nodes"
for node in n-chengdu n-chongqing; do
    $BIN/duotang-node -n $node --hub $HUB --hub-key $DEMO/hub/hub.pub -k $DEMO/$node.key \
        --admin $DEMO/hq.pub -d $DEMO/$node -e 'tcp://127.0.0.1:*' > $DEMO/$node.log 2>&1 &
    PIDS+=($!)
done
CHENGDU=$(endpoint_of $DEMO/n-chengdu)
CHONGQING=$(endpoint_of $DEMO/n-chongqing)
NODE_KEY=$DEMO/n-chengdu/node.pub
echo "  n-chengdu on $CHENGDU, n-chongqing on $CHONGQING"

# Bounded wait until a command's output contains a string.
wait_for () {
    local want=$1; shift
    for _ in $(seq 100); do
        "$@" 2>/dev/null | grep -q -- "$want" && return 0
        sleep 0.1
    done
    echo "demo: timed out waiting for '$want' from: $*" >&2
    return 1
}
wait_for "成都分舵" ctl -e $CHENGDU -s $NODE_KEY tree

say "the tree at node n-chengdu (its replica holds only its own branch)"
ctl -e $CHENGDU -s $NODE_KEY tree

say "a change made at node n-chengdu reaches the hub: a fan joins 青羊堂口 there"
ctl -e $CHENGDU -s $NODE_KEY member join m-283 --hall h-qingyang
wait_for "h-qingyang" ctl member show m-283
ctl member show m-283

say "a change made at the hub reaches the node: 锦江堂口 is renamed"
ctl hall rename h-jinjiang 锦江老友堂口 > /dev/null
wait_for "锦江老友堂口" ctl -e $CHENGDU -s $NODE_KEY hall list --branch b-chengdu
ctl -e $CHENGDU -s $NODE_KEY hall list --branch b-chengdu

say "the customer lock and the caps refuse, naming the rule"
ctl member join m-7 --hall h-yuzhong || true
ctl hall merge h-jinjiang --into h-wuhou || true

say "nodes as headquarters sees them"
ctl node list

say "the audit log (last entries) and its hash chain"
ctl audit --limit 3
ctl audit verify

# ---------------------------------------------------------------------------
say "a month later: every server restarts on today's clock; n-chongqing comes up alone"
for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
PIDS=()
unset DUOTANG_CLOCK_OFFSET_MS
start_hub () {
    $BIN/duotang-hub -d $DEMO/hub -e "$HUB" --admin $DEMO/hq.pub >> $DEMO/hub.log 2>&1 &
    PIDS+=($!)
    endpoint_of $DEMO/hub > /dev/null
}
start_node () {     # node endpoint
    rm -f $DEMO/$1/endpoint
    $BIN/duotang-node -n $1 --hub $HUB --hub-key $DEMO/hub/hub.pub -k $DEMO/$1.key \
        --admin $DEMO/hq.pub -d $DEMO/$1 -e "$2" >> $DEMO/$1.log 2>&1 &
    PIDS+=($!)
    NODE_PID=$!
    endpoint_of $DEMO/$1 > /dev/null
}
rm -f $DEMO/hub/endpoint
CQ_KEY=$DEMO/n-chongqing/node.pub
start_node n-chongqing "$CHONGQING"
CQ_PID=$NODE_PID
echo "  days of content: $START .. $(TZ=$ZONE date -d "$TODAY -1 day" +%F) (in $ZONE)"

# One month of content as JSON lines: every day an article per branch (b-chongqing
# misses every fourth day, b-xian the last three), a story and a video every
# Wednesday (b-chongqing only in the first two weeks), a tasting in the middle of
# the month in every hall but h-nanan and h-weiyang; h-weiyang does nothing at all.
fans_of () {    # hall index -> three of its fans
    local found=() n=$1
    while [ ${#found[@]} -lt 3 ]; do
        [ $((n % 25)) -ne 0 ] && found+=("\"m-$n\"")
        n=$((n + 12))
    done
    (IFS=,; echo "${found[*]}")
}
month () {      # branch officer file miss_every skip_last weeks_of_stories first_hall
    local branch=$1 officer=$2 file=$3 miss=$4 skip=$5 weeks=$6 first=$7 day=$START n=0 week=0
    : > $file
    while [ "$day" != "$TODAY" ]; do
        n=$((n + 1))
        local left=$(( ($(date -d "$TODAY" +%s) - $(date -d "$day" +%s)) / 86400 ))
        if { [ "$miss" -eq 0 ] || [ $((n % miss)) -ne 0 ]; } && [ "$left" -gt "$skip" ]; then
            echo "{\"type\":\"post\",\"id\":\"p-$branch-$n\",\"group\":\"$branch\",\"kind\":\"article\",\"title\":\"酱酒日记 $day\",\"author\":\"$officer\",\"topics\":[\"酱酒\"],\"at\":\"${day}T10:00\"}" >> $file
        fi
        if [ "$(date -d "$day" +%u)" -eq 3 ]; then
            week=$((week + 1))
            if [ "$week" -le "$weeks" ]; then
                echo "{\"type\":\"post\",\"group\":\"$branch\",\"kind\":\"story\",\"title\":\"侠义故事\",\"author\":\"$officer\",\"photos\":[\"album/$day-1.jpg\",\"album/$day-2.jpg\"],\"at\":\"${day}T12:00\"}" >> $file
                echo "{\"type\":\"post\",\"group\":\"$branch\",\"kind\":\"video\",\"title\":\"一分钟品酒\",\"author\":\"$officer\",\"seconds\":95,\"at\":\"${day}T13:00\"}" >> $file
            fi
        fi
        if [ "$n" -eq 15 ]; then
            for i in 0 1 2 3; do
                local h=$((first + i)) hall=${HALLS[$((first + i))]%%:*}
                [ "$hall" = h-nanan ] || [ "$hall" = h-weiyang ] && continue
                echo "{\"type\":\"event\",\"group\":\"$hall\",\"kind\":\"tasting\",\"title\":\"赛酒会\",\"place\":\"老酒馆\",\"author\":\"m-lead-$h\",\"at\":\"${day}T19:00\",\"attendees\":[$(fans_of $h)]}" >> $file
            done
        fi
        day=$(date -d "$day +1 day" +%F)
    done
}
activity () {   # file first_hall: the last three days of every fan of four halls
    local file=$1 first=$2
    echo "member,day,count" > $file
    for back in 3 2 1; do
        local day=$(date -d "$TODAY -$back day" +%F)
        for n in $(seq 0 269); do
            local h=$((n % 12))
            [ $h -lt "$first" ] || [ $h -ge $((first + 4)) ] || [ $((n % 25)) -eq 0 ] && continue
            [ "${HALLS[$h]%%:*}" = h-weiyang ] && continue
            echo "m-$n,$day,$((n % 7 + 1))" >> $file
        done
    done
}
month b-chengdu o-zhang $DEMO/chengdu.jsonl 0 0 9 0
month b-chongqing o-li $DEMO/chongqing.jsonl 4 0 2 4
month b-xian o-du $DEMO/xian.jsonl 0 3 9 8
activity $DEMO/chengdu-activity.csv 0
activity $DEMO/chongqing-activity.csv 4
activity $DEMO/xian-activity.csv 8

say "n-chongqing, cut off from the hub, takes its month of content and activity"
ctl -e $CHONGQING -s $CQ_KEY import content $DEMO/chongqing.jsonl
ctl -e $CHONGQING -s $CQ_KEY activity import $DEMO/chongqing-activity.csv
kill $CQ_PID; wait $CQ_PID 2>/dev/null || true
echo "  n-chongqing goes offline holding what it accepted"

say "the hub and n-chengdu are back; their branches take their month"
start_hub
start_node n-chengdu "$CHENGDU"
ctl -e $CHENGDU -s $NODE_KEY import content $DEMO/chengdu.jsonl
ctl -e $CHENGDU -s $NODE_KEY activity import $DEMO/chengdu-activity.csv
ctl import content $DEMO/xian.jsonl
ctl activity import $DEMO/xian-activity.csv
ctl hall set-cap h-lianhu 60 > /dev/null       # room for a merge in b-xian
wait_for "p-b-chengdu-15" ctl post list b-chengdu

say "青羊堂口 spams promotions: the policy refuses the second one of the day"
for n in 1 2 3; do
    ctl -e $CHENGDU -s $NODE_KEY post add h-qingyang notice "堂口通知 $n" --author m-lead-0 > /dev/null
done
ctl -e $CHENGDU -s $NODE_KEY post add h-qingyang promo "特价酱酒" --author m-lead-0
ctl -e $CHENGDU -s $NODE_KEY post add h-qingyang promo "再来一瓶" --author m-lead-0 || true

say "a fan of 雁塔堂口 asked a business question two days ago; nobody answered"
ctl question ask m-8 "这批酒什么时候到货?" --at "$(TZ=$ZONE date -d "$TODAY -2 day" +%F)T09:30" > /dev/null

say "compliance at headquarters: b-chongqing awaits its node, the others are judged"
ctl report compliance

say "n-chongqing reconnects and delivers; its month is judged where it belongs"
start_node n-chongqing "$CHONGQING"
wait_for "p-b-chongqing-30" ctl post list b-chongqing
ctl report compliance

say "drill-down: b-chongqing, the last closed day, week and month of every group"
ctl report compliance --branch b-chongqing

say "the worst runs of misses, and b-chongqing's streaks"
ctl report streaks
ctl report streaks --branch b-chongqing

say "health: dormant and dead groups, with what to do; leaders and officers out of rule"
ctl report health

say "questions past their deadline, by leader"
ctl report questions

say "the full detail for a spreadsheet (first lines of report compliance --csv)"
ctl report compliance --csv | head -5
