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
